// The one cursor codec: a page's last sort values as base64url JSON, and the `?cursor=` schema that decodes
// and validates them before they reach SQL (a forged, tampered or foreign cursor is 400 `invalid_cursor`).
import { z } from 'zod';
import { AppError } from './errors';

export type CursorValue = string | number;

export function encodeCursor(values: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

const INVALID = 'Invalid cursor.';

export const invalidCursor = () => new AppError(400, 'invalid_cursor', 'The cursor is invalid.', { cursor: [INVALID] });

/** Marks the issues that mean "the cursor is invalid", which `parseOrThrow` answers with `invalidCursor()`. */
const MARK = { invalid_cursor: true } as const;

const cursorIssue = { code: 'custom', message: INVALID, params: MARK } as const;

export const isCursorIssue = (issue: z.core.$ZodIssue) => issue.code === 'custom' && (issue.params as typeof MARK | undefined)?.invalid_cursor === true;

function decoded(raw: string): unknown {
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * `?cursor=`: opaque text from `next`, decoded and checked against `values` (a `z.tuple` of the list's sort
 * values with their value rules, e.g. `isoDateTime()` for years 0001-9999, or a union of such tuples).
 * A cursor that fails is 400 `invalid_cursor`, once every other parameter is valid (those are reported first).
 */
export function cursor<T extends z.ZodType<readonly CursorValue[]>>(values: T) {
  return z
    .string()
    .max(1024)
    .transform((raw, ctx): z.output<T> => {
      const parsed = values.safeParse(decoded(raw));
      if (parsed.success) return parsed.data;
      ctx.addIssue(cursorIssue);
      return z.NEVER;
    })
    .optional()
    .meta({ description: 'Opaque cursor taken from `next`.' });
}

/**
 * For a list with several orderings whose cursors carry their ordering first (`['-priority', 3, id]`):
 * a cursor only resumes the ordering it came from. Use as `.superRefine(sameOrdering)` on the query schema.
 */
export function sameOrdering(query: { ordering: string; cursor?: readonly unknown[] }, ctx: z.RefinementCtx): void {
  if (Array.isArray(query.cursor) && query.cursor[0] !== query.ordering) ctx.addIssue({ ...cursorIssue, path: ['cursor'] });
}
