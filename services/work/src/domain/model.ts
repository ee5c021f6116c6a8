// The work service's vocabulary (task statuses and priorities), its actor and what its use cases depend on.
import type { AuthUser, Knex, MembershipReplica, Outbox } from '@taskflow/shared';

export const TASK_STATUSES = ['todo', 'in_progress', 'review', 'done'] as const;
export const TASK_PRIORITIES = ['low', 'medium', 'high'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** The use cases' dependencies (`deps`): the database, the membership replica and the outbox. */
export interface WorkDeps {
  db: Knex;
  replica: MembershipReplica;
  outbox: Outbox;
}

export type Actor = AuthUser;
