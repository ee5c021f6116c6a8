// Opaque list cursors: the sort value and id of the last row, checked before they reach SQL.
import { AppError, decodeCursor, isoDate, isoDateTime } from '@taskflow/shared';
import { z } from 'zod';
import type { Project } from '../domain/model';
import type { TaskRow } from '../db/tasks';
import { TASK_SORT_COLUMNS } from '../db/migrations';
import type { TaskOrdering } from './schemas';

const invalidCursor = () => new AppError(400, 'invalid_cursor', 'The cursor is invalid.', { cursor: ['Invalid cursor.'] });

const timestamp = isoDateTime();
const guid = z.guid();
const sortValue: Record<TaskOrdering, z.ZodType> = {
  created_at: timestamp,
  updated_at: timestamp,
  due_date: z.union([isoDate(), z.literal('infinity')]),
  priority: z.number().int().min(1).max(3),
};

export function projectCursorOf(p: Project): [string, string] {
  return [p.created_at, p.id];
}

export function parseProjectCursor(cursor: string | undefined): [string, string] | undefined {
  if (cursor === undefined) return undefined;
  const [createdAt, lastId] = decodeCursor(cursor, 2);
  if (!timestamp.safeParse(createdAt).success || !guid.safeParse(lastId).success) throw invalidCursor();
  return [createdAt as string, lastId as string];
}

export interface TaskSort {
  column: string;
  descending: boolean;
  after?: [string | number, string];
}

/** The sort of `ordering` (e.g. `-due_date`), resumed after `cursor`; a cursor of another ordering is invalid. */
export function taskSortOf(ordering: string, cursor: string | undefined): TaskSort {
  const descending = ordering.startsWith('-');
  const field = ordering.replace(/^-/, '') as TaskOrdering;
  const sort: TaskSort = { column: TASK_SORT_COLUMNS[field], descending };
  if (cursor !== undefined) {
    const [cursorOrdering, value, lastId] = decodeCursor(cursor, 3);
    if (cursorOrdering !== ordering || !sortValue[field].safeParse(value).success || !guid.safeParse(lastId).success) throw invalidCursor();
    sort.after = [value as string | number, lastId as string];
  }
  return sort;
}

export function taskCursorOf(ordering: string, row: TaskRow): [string, string | number, string] {
  const field = ordering.replace(/^-/, '') as TaskOrdering;
  const value =
    field === 'created_at' ? row.created_at.toISOString() : field === 'updated_at' ? row.updated_at.toISOString() : field === 'priority' ? row.priority_rank : row.due_cursor;
  return [ordering, value, row.id];
}
