// Rows -> API bodies (API.md shapes), and the headers sent with them (a task's body is the task itself, `version` included).
import { etagOf } from '@taskflow/shared';
import type { Context } from 'koa';
import type { TaskPriority, TaskStatus } from '../domain/model';
import type { ProjectRow } from '../domain/projects';
import type { TaskRow } from '../domain/tasks';

export interface Project {
  id: string;
  organization: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface Task {
  id: string;
  organization: string;
  project: string;
  title: string;
  description: string;
  assigned_to: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  due_date: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

/** A project without its version (served as the ETag); the field order is the one a page's rows are written in (`listProjects`). */
export function presentProject(row: ProjectRow): Project {
  return {
    id: row.id,
    organization: row.organization_id,
    name: row.name,
    description: row.description,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** A task with its version; the field order is the one a page's rows are written in (`listTasks`). */
export function presentTask(row: TaskRow): Task {
  return {
    id: row.id,
    organization: row.organization_id,
    project: row.project_id,
    title: row.title,
    description: row.description,
    assigned_to: row.assigned_to,
    status: row.status,
    priority: row.priority,
    due_date: row.due_date,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    version: row.version,
  };
}

/** Sends a single resource with its ETag. */
export function sendResource(ctx: Context, resource: { version: number }, body: unknown, status = 200): void {
  ctx.status = status;
  ctx.set('ETag', etagOf(resource.version));
  ctx.body = body;
}
