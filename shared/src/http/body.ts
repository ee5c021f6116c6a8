// Reads JSON request bodies: 1 MiB limit (413), JSON only (415), malformed JSON (400).
import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';
import { AppError } from './errors';

export const MAX_BODY_BYTES = 1024 * 1024;

const methodsWithBody = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether the request carries a body (a positive Content-Length, or chunked). */
export function hasBody(ctx: Context): boolean {
  const length = ctx.get('content-length');
  if (length !== '') return Number(length) > 0;
  return ctx.get('transfer-encoding') !== '';
}

/** `application/json` or a structured-syntax `application/<subtype>+json` (RFC 6839): never a bare `application/+json`. */
const JSON_MEDIA_TYPE = /^application\/(?:json|[a-z0-9][a-z0-9!#$&^_.-]*\+json)$/;

export function isJsonContentType(value: string): boolean {
  return JSON_MEDIA_TYPE.test(value.split(';')[0]!.trim().toLowerCase());
}

/** Reads the request body as a Buffer, refusing more than `limit` bytes with a 413. */
export async function readRawBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new AppError(413, 'payload_too_large', 'Request body exceeds the 1 MiB limit.');
  return getRawBody(ctx.req, { limit });
}

/**
 * JSON may escape half of a surrogate pair (`"\ud800"`), which no UTF-8 text can hold: stored, it would
 * silently become U+FFFD (two different passwords could become one). Such a body is refused.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Also refuses the key `__proto__`: JSON.parse makes it an ordinary own property, but any later spread,
 * merge or assignment of the body may treat it as the prototype; no field of the API has that name.
 */
function refuseLoneSurrogates(key: string, value: unknown): unknown {
  if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) {
    throw new AppError(400, 'malformed_json', 'Request body contains invalid Unicode (a lone surrogate).');
  }
  if (key === '__proto__') throw new AppError(400, 'malformed_json', 'Request body uses the reserved key "__proto__".');
  return value;
}

/**
 * The JSON value of a request body exactly as every service reads it (UTF-8, a leading BOM dropped, lone
 * surrogates and `__proto__` keys refused), or undefined for a blank body; 400 `malformed_json` otherwise. The gateway reads
 * login bodies with this too, so it keys its limits on the very email the service will see.
 */
export function decodeJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new AppError(400, 'malformed_json', 'Request body is not valid UTF-8.');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text, refuseLoneSurrogates);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(400, 'malformed_json', 'Request body is not valid JSON.');
  }
}

/** Sets `ctx.request.body` to the parsed JSON value, or undefined when no body was sent. */
export function jsonBody() {
  return async function parseJsonBody(ctx: Context, next: Next): Promise<void> {
    if (methodsWithBody.has(ctx.method) && hasBody(ctx)) {
      if (!isJsonContentType(ctx.get('content-type'))) {
        throw new AppError(415, 'unsupported_media_type', 'Request bodies must be application/json.');
      }
      (ctx.request as { body?: unknown }).body = decodeJsonBody(await readRawBody(ctx));
    }
    await next();
  };
}
