// Reading the activity log: scoped to the caller's organizations, newest first, one page at a time.
import { type JsonPage, type Knex, type MembershipReplica, type Role } from '@taskflow/shared';
import { type ActivityFilters, type ActivityPosition, listActivityPage } from '../db/activity';
import type { ActivityRecord } from './activity';

export type { ActivityFilters, ActivityPosition } from '../db/activity';

/** The use cases' dependencies (`deps`). */
export interface AuditDeps {
  db: Knex;
  replica: MembershipReplica;
}

/** An entry together with the reader's role in its organization (which decides what they see). */
export type ReadableActivity = ActivityRecord & { reader_role: Role };

/**
 * One page of the entries the user may read, newest first, strictly after `after`, each as the reader's
 * role may see it (PostgreSQL writes the JSON). With `filters.organization` a non-member gets a 404 (the
 * organization's existence is not revealed); without it, only organizations the user belongs to are
 * searched, in SQL.
 */
export async function listActivityForUser(
  { db, replica }: AuditDeps,
  userId: string,
  filters: ActivityFilters,
  after: ActivityPosition | undefined,
  limit: number,
): Promise<JsonPage> {
  return replica.readScoped(userId, filters.organization, (memberships, extra) => listActivityPage(db, memberships, filters, after, limit, extra));
}
