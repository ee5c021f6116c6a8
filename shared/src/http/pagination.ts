// List pages: `limit` and `cursor` in the query, `{results, next}` and the `Link` header out (the order
// and the cursor are keyset.ts's and cursor.ts's).
import type { Context } from 'koa';
import { z } from 'zod';
import { type CursorValue, encodeCursor } from './cursor';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

/** `limit`: 1.., values above 200 are clamped to 200. */
const limit = z
  // Only plain digits become a number ('0x10', ' 5 ', '1e3' stay strings and fail as not a number).
  .preprocess((v) => (typeof v === 'string' && /^[0-9]{1,9}$/.test(v) ? Number(v) : v), z.number().int().min(1))
  .default(DEFAULT_LIMIT)
  .transform((n) => Math.min(n, MAX_LIMIT))
  .meta({ description: `Page size, default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT} (larger values are clamped).` });

/** The query of a list: `limit`, and `cursor` decoded by the list's `cursor(...)` schema (see cursor.ts). */
export const pageQuery = <C extends z.ZodType>(cursor: C) => z.object({ limit, cursor });

export interface Page<T> {
  results: T[];
  next: string | null;
}

/**
 * Shapes a page from `rows`, fetched with `limit + 1` so the extra row tells whether a next page
 * exists. Sets the `Link` header; `next` is the request path with the cursor replaced.
 */
export function toPage<Row, T>(
  ctx: Context,
  rows: Row[],
  limit: number,
  cursorOf: (row: Row) => readonly CursorValue[],
  present: (row: Row) => T,
): Page<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const next = hasMore ? nextLink(ctx, cursorOf(pageRows[pageRows.length - 1]!)) : null;
  return { results: pageRows.map(present), next };
}

/** The request path with the cursor replaced, also sent as the `Link` header. */
function nextLink(ctx: Context, cursor: readonly CursorValue[]): string {
  const params = new URLSearchParams(ctx.querystring);
  params.set('cursor', encodeCursor(cursor));
  const next = `${ctx.path}?${params.toString()}`;
  ctx.set('Link', `<${next}>; rel="next"`);
  return next;
}

/**
 * Sends a page PostgreSQL wrote as JSON text (`jsonPage` in db/keyset.ts), byte for byte the body
 * `toPage` gives for the same rows: the results pass through as a string, only `next` is made here,
 * from the last row's cursor values (`cursorOf` adds what the cursor carries besides them).
 */
export function sendJsonPage(
  ctx: Context,
  page: { results: string; fetched: number; last: readonly CursorValue[] },
  limit: number,
  cursorOf: (last: readonly CursorValue[]) => readonly CursorValue[] = (last) => last,
): void {
  const next = page.fetched > limit ? nextLink(ctx, cursorOf(page.last)) : null;
  ctx.type = 'application/json';
  ctx.body = `{"results":${page.results},"next":${next === null ? 'null' : JSON.stringify(next)}}`;
}

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ results: z.array(item), next: z.string().nullable() });
