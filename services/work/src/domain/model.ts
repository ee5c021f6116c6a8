// The work service's resources exactly as the API presents them.
import type { AuthUser, Knex, MembershipReplica, Outbox } from '@taskflow/shared';

export const TASK_STATUSES = ['todo', 'in_progress', 'review', 'done'] as const;
export const TASK_PRIORITIES = ['low', 'medium', 'high'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

export interface Project {
  id: string;
  organization: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  /** Not part of the body: served as the ETag. */
  version: number;
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

/** The use cases' dependencies (`deps`): the database, the membership replica and the outbox. */
export interface WorkDeps {
  db: Knex;
  replica: MembershipReplica;
  outbox: Outbox;
}

export type Actor = AuthUser;
