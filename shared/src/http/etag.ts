// ETag / If-Match for optimistic concurrency (RFC 9110, 8.8.3 and 13.1.1), from a resource's integer version.
import type { Context } from 'koa';
import { AppError } from './errors';

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** What an `If-Match` header demands: any current representation (`*`), or one of these strong tags. */
export type IfMatch = { any: true } | { any: false; strongTags: string[] };

/** etagc: %x21 / %x23-7E / obs-text (header values reach us latin1-decoded, so obs-text is U+0080-U+00FF). */
const OPAQUE_TAG_CONTENT = /^[\x21\x23-\x7e\x80-\xff]*$/;
const isOws = (c: string | undefined) => c === ' ' || c === '\t';

export const invalidIfMatch = () =>
  new AppError(400, 'invalid_if_match', 'If-Match must be "*" or a comma-separated list of entity tags, such as "3".');

/**
 * Parses an `If-Match` field value: `*` or `#entity-tag` (`"3"`, `W/"3"`, `"1", "3"`). Empty list
 * elements are ignored as RFC 9110 5.6.1 asks; an empty value is no precondition at all. Weak tags are
 * syntactically fine but are dropped, since If-Match compares strongly and a weak tag never matches.
 * Anything else is a 400 `invalid_if_match`, never a 412: the client's header is wrong, not the version.
 */
export function parseIfMatch(value: string): IfMatch | undefined {
  const header = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (header === '') return undefined;
  if (header === '*') return { any: true };
  const strongTags: string[] = [];
  let i = 0;
  while (i < header.length) {
    if (isOws(header[i]) || header[i] === ',') {
      i += 1;
      continue;
    }
    const weak = header.startsWith('W/', i);
    if (weak) i += 2;
    if (header[i] !== '"') throw invalidIfMatch();
    const close = header.indexOf('"', i + 1);
    if (close < 0) throw invalidIfMatch();
    const opaque = header.slice(i + 1, close);
    if (!OPAQUE_TAG_CONTENT.test(opaque)) throw invalidIfMatch();
    if (!weak) strongTags.push(opaque);
    i = close + 1;
    while (isOws(header[i])) i += 1;
    if (i < header.length && header[i] !== ',') throw invalidIfMatch();
  }
  return { any: false, strongTags };
}

/** The request's `If-Match` (undefined when there is none); a malformed one is a 400 before anything is read or written. */
export function ifMatchOf(ctx: Context): IfMatch | undefined {
  return parseIfMatch(ctx.get('if-match'));
}

/** Strong comparison with the resource's current version: `"3"` matches 3, `"03"` and `W/"3"` do not. */
export function ifMatchAccepts(condition: IfMatch | undefined, version: number): boolean {
  if (condition === undefined || condition.any) return true;
  return condition.strongTags.includes(String(version));
}

/** Throws 412 unless `condition` accepts the resource's current `version` (call it once the resource is known to exist). */
export function requireIfMatch(condition: IfMatch | undefined, version: number): void {
  if (!ifMatchAccepts(condition, version)) throw preconditionFailed();
}

export const preconditionFailed = () =>
  new AppError(412, 'precondition_failed', 'The resource has changed since it was read (If-Match does not match); fetch it again.');
