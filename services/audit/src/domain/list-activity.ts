// Reading the activity log: scoped to the caller's organizations, newest first, one page at a time.
import { type Knex, type MembershipReplica, type Role, sqlOf } from '@taskflow/shared';
import { type ActivityFilters, type ActivityPosition, listMembershipsActivity, listOrganizationActivity } from '../db/activity';
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
 * Entries the user may read, newest first, strictly after `after`; at most `limit`. With
 * `filters.organization` a non-member gets a 404 (the organization's existence is not revealed);
 * without it, only organizations the user belongs to are searched, in SQL.
 */
export async function listActivityForUser(
  { db, replica }: AuditDeps,
  userId: string,
  filters: ActivityFilters,
  after: ActivityPosition | undefined,
  limit: number,
): Promise<ReadableActivity[]> {
  if (filters.organization) {
    const role = await replica.requireRole(userId, filters.organization);
    const rows = await listOrganizationActivity(db, filters.organization, filters, after, limit);
    return rows.map((row) => ({ ...row, reader_role: role }));
  }
  // organization_id and the reader's role, one row per organization the user belongs to.
  const memberships = sqlOf(replica.organizationsOf(userId).select('role'));
  const rows = await listMembershipsActivity(db, memberships, filters, after, limit);
  return rows.map(({ role, ...row }) => ({ ...row, reader_role: role }));
}
