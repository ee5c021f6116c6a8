// The one rule for which request paths may be routed, applied alike by the gateway and every service.

/** One segment of RFC 3986 `pchar`s: unreserved, sub-delims, `:`, `@` and percent-encodings. */
const SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$/;
/**
 * Percent-encodings that have a plain spelling (unreserved characters: `%6C` is `l`) or that would hide a
 * segment boundary (`%2F`, `%5C`): a second spelling of a path is a way around a rule keyed on the first.
 */
const ALIASING_ESCAPE = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DdEeFf]|5[CcFf]|7[Ee])/;

/**
 * Whether `path` (raw, as received) has one spelling only: no empty segment (`//`), no `.` or `..`,
 * no needless or slash-hiding percent-encoding, nothing outside RFC 3986. One trailing slash is allowed
 * (every path works with and without it). Anything else is answered 404 before routing, everywhere.
 */
export function isCanonicalPath(path: string): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/')) return false;
  const segments = (path.endsWith('/') ? path.slice(1, -1) : path.slice(1)).split('/');
  return segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..' && !ALIASING_ESCAPE.test(s));
}

/** `path` without its one trailing slash (routes are declared without it). */
export function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
