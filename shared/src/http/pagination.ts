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
  let next: string | null = null;
  if (hasMore) {
    const params = new URLSearchParams(ctx.querystring);
    params.set('cursor', encodeCursor(cursorOf(pageRows[pageRows.length - 1]!)));
    next = `${ctx.path}?${params.toString()}`;
    ctx.set('Link', `<${next}>; rel="next"`);
  }
  return { results: pageRows.map(present), next };
}

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ results: z.array(item), next: z.string().nullable() });
