// All SQL on the activity log.
import { acrossOrganizations, type KeyValue, keyset, keysetPage, type Knex, type Role, rowsOf, type Sql, sqlOf } from '@taskflow/shared';
import type { ActivityRecord } from '../domain/activity';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE } from './migrations';

export interface ActivityFilters {
  organization?: string;
  actor?: string;
  verb?: string;
  target_type?: string;
  target_id?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
}

/** A place in the newest-first order, `[created_at, id]`: entries strictly after it are older (ties broken by id). */
export type ActivityPosition = readonly [KeyValue, string];

/** Newest first, ties by id; both keys descend, as the indexes do. */
const newestFirst = keyset([
  { column: 'created_at', descending: true },
  { column: 'id', descending: true },
]);

/** Records entries, leaving alone any already recorded for the same event. Only db/feed.ts calls it, under the feed lock. */
export async function insertActivity(trx: Knex.Transaction, records: ActivityRecord[]): Promise<void> {
  await trx(ACTIVITY_TABLE)
    .insert(records.map((record) => ({ ...record, changes: JSON.stringify(record.changes) })))
    .onConflict('id')
    .ignore();
}

function filtered<Q extends Knex.QueryBuilder>(query: Q, alias: string, filters: ActivityFilters, after: ActivityPosition | undefined, limit: number): Q {
  const c = (name: string) => `${alias}.${name}`;
  if (filters.actor) query.where(c('actor_id'), filters.actor);
  if (filters.verb) query.where(c('verb'), filters.verb);
  if (filters.target_type) query.where(c('target_type'), filters.target_type);
  if (filters.target_id) query.where(c('target_id'), filters.target_id);
  if (filters.since) query.where(c('created_at'), '>=', filters.since);
  if (filters.until) query.where(c('created_at'), '<', filters.until);
  keysetPage(query, newestFirst, alias, after).limit(limit);
  return query;
}

/** One organization's entries, newest first. */
export async function listOrganizationActivity(
  db: Knex,
  organizationId: string,
  filters: ActivityFilters,
  after: ActivityPosition | undefined,
  limit: number,
): Promise<ActivityRecord[]> {
  const query = db(`${ACTIVITY_TABLE} as a`).select(ACTIVITY_COLUMNS.map((name) => `a.${name}`)).where('a.organization_id', organizationId);
  return filtered(query, 'a', filters, after, limit);
}

/**
 * Entries of every organization in `memberships` (a query of `organization_id, role` rows), newest
 * first, each with that role. Takes the newest `limit` of each organization through its index, then
 * the newest `limit` of those, so the cost does not grow with the size of the log.
 */
export async function listMembershipsActivity(
  db: Knex,
  memberships: Sql,
  filters: ActivityFilters,
  after: ActivityPosition | undefined,
  limit: number,
): Promise<Array<ActivityRecord & { role: Role }>> {
  const perOrganization = filtered(
    db(`${ACTIVITY_TABLE} as a`).select(ACTIVITY_COLUMNS.map((name) => `a.${name}`)).where('a.organization_id', db.ref('o.organization_id')),
    'a',
    filters,
    after,
    limit,
  );
  return rowsOf(db, acrossOrganizations({ organizations: memberships, perOrganization: sqlOf(perOrganization), keyset: newestFirst, limit, select: 'page.*, o.role' }));
}
