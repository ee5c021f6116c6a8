// What a page's last row resumes from (the values `next` carries; the schemas in schemas.ts check them).
import type { Project } from '../domain/model';
import type { TaskOrdering, TaskRow } from '../db/tasks';

export function projectCursorOf(p: Project): [string, string] {
  return [p.created_at, p.id];
}

export function taskCursorOf(ordering: TaskOrdering, row: TaskRow): [string, string | number, string] {
  const field = ordering.replace(/^-/, '');
  const value =
    field === 'created_at' ? row.created_at.toISOString() : field === 'updated_at' ? row.updated_at.toISOString() : field === 'priority' ? row.priority_rank : row.due_cursor;
  return [ordering, value, row.id];
}
