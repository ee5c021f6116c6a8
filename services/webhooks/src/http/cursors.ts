// Opaque list cursors: the creation time and id of the last row, checked before they reach SQL.
import { AppError, decodeCursor, isoDateTime } from '@taskflow/shared';
import { z } from 'zod';

const timestamp = isoDateTime();
const guid = z.guid();

export const cursorOf = (row: { created_at: string; id: string }): [string, string] => [row.created_at, row.id];

export function parseCursor(cursor: string | undefined): [string, string] | undefined {
  if (cursor === undefined) return undefined;
  const [createdAt, lastId] = decodeCursor(cursor, 2);
  if (!timestamp.safeParse(createdAt).success || !guid.safeParse(lastId).success) {
    throw new AppError(400, 'invalid_cursor', 'The cursor is invalid.', { cursor: ['Invalid cursor.'] });
  }
  return [createdAt as string, lastId as string];
}
