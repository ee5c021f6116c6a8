// One error type for every expected failure, and its mapping to RFC 9457 problem+json.

export type FieldErrors = Record<string, string[]>;

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors?: FieldErrors,
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export const notFound = (what = 'Not found.') => new AppError(404, 'not_found', what);
export const forbidden = (detail = 'You do not have permission to perform this action.') =>
  new AppError(403, 'permission_denied', detail);
export const unauthorized = (detail = 'Authentication credentials were not provided or are invalid.', code = 'not_authenticated') =>
  new AppError(401, code, detail, undefined, { 'WWW-Authenticate': 'Bearer' });
export const validationFailed = (errors: FieldErrors, detail = 'Invalid input.') =>
  new AppError(400, 'validation_error', detail, errors);
export const conflict = (detail: string, code = 'conflict') => new AppError(409, code, detail);
export const unavailable = (detail: string, retryAfterSeconds = 5) =>
  new AppError(503, 'service_unavailable', detail, undefined, { 'Retry-After': String(retryAfterSeconds) });

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldErrors;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function problem(status: number, code: string, detail: string, errors?: FieldErrors): Problem {
  return {
    type: `https://taskflow.dev/problems/${code.replace(/_/g, '-')}`,
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
    ...(errors ? { errors } : {}),
  };
}

interface PgError {
  code?: unknown;
  routine?: unknown;
}

const pgCodes: Record<string, { status: number; code: string; detail: string }> = {
  '23505': { status: 409, code: 'already_exists', detail: 'A resource with these values already exists.' },
  '23503': { status: 409, code: 'reference_conflict', detail: 'The request refers to, or is referred to by, another resource.' },
  '22P02': { status: 400, code: 'invalid_input', detail: 'A value has an invalid format.' },
  '22001': { status: 400, code: 'invalid_input', detail: 'A value is too long.' },
  '22021': { status: 400, code: 'invalid_input', detail: 'A value contains a character that cannot be stored (such as NUL).' },
  '23514': { status: 400, code: 'invalid_input', detail: 'A value is not allowed.' },
  // Second wall behind the schemas (shared/src/http/values.ts): a date PostgreSQL cannot take is the client's.
  '22007': { status: 400, code: 'invalid_input', detail: 'A date or time has an invalid format.' },
  '22008': { status: 400, code: 'invalid_input', detail: 'A date or time is out of range (years 0001 to 9999).' },
  '40001': { status: 409, code: 'concurrent_update', detail: 'The resource was changed concurrently; retry the request.' },
};

/**
 * The database cannot be reached (refused, terminated, not accepting connections, too many clients
 * (53300), pool exhausted):
 * an outage of a dependency, answered 503 so clients retry and the gateway's breaker counts it.
 */
function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  if (e?.name === 'KnexTimeoutError') return true;
  if (typeof e?.code === 'string') {
    if (/^(08|57P0)/.test(e.code) || e.code === '55000' || e.code === '53300' || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code)) return true;
  }
  return typeof e?.message === 'string' && /^Connection terminated|^Client has encountered a connection error/.test(e.message);
}

/**
 * PostgreSQL cancelled the statement (57014: the pool's statement_timeout, or a cancel request): the
 * connection is free again at once, and the client hears 503 + Retry-After instead of waiting on a
 * stalled pool.
 */
const isStatementCancelled = (err: unknown) => (err as { code?: unknown })?.code === '57014';

/** Maps any thrown value to the problem sent to the client; `expected` is false for bugs (anything not deliberately thrown). */
export function toProblem(err: unknown): { problem: Problem; headers: Record<string, string>; expected: boolean } {
  if (err instanceof AppError) {
    return { problem: problem(err.status, err.code, err.message, err.errors), headers: err.headers ?? {}, expected: true };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      problem: problem(503, 'service_unavailable', 'The service cannot reach its database; retry shortly.'),
      headers: { 'Retry-After': '5' },
      expected: true,
    };
  }
  if (isStatementCancelled(err)) {
    return {
      problem: problem(503, 'query_timeout', 'The request took longer than the service allows; retry shortly or narrow it.'),
      headers: { 'Retry-After': '5' },
      expected: true,
    };
  }
  const pg = err as PgError;
  if (typeof pg?.code === 'string' && typeof pg.routine === 'string' && pgCodes[pg.code]) {
    const m = pgCodes[pg.code]!;
    return { problem: problem(m.status, m.code, m.detail), headers: {}, expected: true };
  }
  // http-errors thrown by koa, raw-body and @koa/router (expose = client error with a safe message).
  const httpErr = err as { status?: unknown; expose?: unknown; message?: unknown; type?: unknown };
  if (typeof httpErr?.status === 'number' && httpErr.status >= 400 && httpErr.status < 500) {
    const status = httpErr.status;
    const code =
      status === 413 ? 'payload_too_large' : status === 405 ? 'method_not_allowed' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    const detail = status === 413 ? 'Request body exceeds the 1 MiB limit.' : httpErr.expose ? String(httpErr.message) : titles[status] ?? 'Bad request';
    return { problem: problem(status, code, detail), headers: {}, expected: true };
  }
  return { problem: problem(500, 'internal_error', 'An unexpected error occurred.'), headers: {}, expected: false };
}
