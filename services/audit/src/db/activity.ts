// All SQL on the activity log.
import type { Knex, Role } from '@taskflow/shared';
import type { ActivityRecord } from '../domain/activity';
import { claimFeedOrder } from './feed';
import { ACTIVITY_TABLE } from './migrations';

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

/** A place in the newest-first order: entries strictly after it are older (ties broken by id). */
export interface ActivityPosition {
  created_at: Date;
  id: string;
}

const columns = [
  'id',
  'organization_id',
  'actor_id',
  'actor_email',
  'verb',
  'action',
  'member_action',
  'target_type',
  'target_id',
  'changes',
  'created_at',
  'request_id',
] as const;

/** Records an entry unless one for the same event exists. Returns whether it was new. */
export async function insertActivity(trx: Knex.Transaction, record: ActivityRecord): Promise<boolean> {
  await claimFeedOrder(trx, 'activity');
  const inserted = await trx(ACTIVITY_TABLE)
    .insert({ ...record, changes: JSON.stringify(record.changes) })
    .onConflict('id')
    .ignore()
    .returning('id');
  return inserted.length > 0;
}

function newestFirst<Q extends Knex.QueryBuilder>(query: Q, alias: string, filters: ActivityFilters, after: ActivityPosition | undefined, limit: number): Q {
  const c = (name: string) => `${alias}.${name}`;
  if (filters.actor) query.where(c('actor_id'), filters.actor);
  if (filters.verb) query.where(c('verb'), filters.verb);
  if (filters.target_type) query.where(c('target_type'), filters.target_type);
  if (filters.target_id) query.where(c('target_id'), filters.target_id);
  if (filters.since) query.where(c('created_at'), '>=', filters.since);
  if (filters.until) query.where(c('created_at'), '<', filters.until);
  // Both keys descend, so a row comparison is exact and stays one index range (unlike an OR expansion).
  if (after) query.whereRaw(`(${c('created_at')}, ${c('id')}) < (?, ?)`, [after.created_at, after.id]);
  query.orderBy([{ column: c('created_at'), order: 'desc' }, { column: c('id'), order: 'desc' }]).limit(limit);
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
  const query = db(`${ACTIVITY_TABLE} as a`).select(columns.map((name) => `a.${name}`)).where('a.organization_id', organizationId);
  return newestFirst(query, 'a', filters, after, limit);
}

/**
 * Entries of every organization in `memberships` (a query of `organization_id, role` rows), newest
 * first, each with that role. Takes the newest `limit` of each organization through its index, then
 * the newest `limit` of those, so the cost does not grow with the size of the log.
 */
export async function listMembershipsActivity(
  db: Knex,
  memberships: Knex.QueryBuilder,
  filters: ActivityFilters,
  after: ActivityPosition | undefined,
  limit: number,
): Promise<Array<ActivityRecord & { role: Role }>> {
  const perOrganization = newestFirst(
    db(`${ACTIVITY_TABLE} as a`).select(columns.map((name) => `a.${name}`)).where('a.organization_id', db.ref('m.organization_id')),
    'a',
    filters,
    after,
    limit,
  );
  const lateral = perOrganization.toSQL();
  const query = db
    .select([...columns.map((name) => `e.${name}`), 'm.role'])
    .from(memberships.as('m'))
    .joinRaw(`cross join lateral (${lateral.sql}) as e`, [...lateral.bindings]);
  return newestFirst(query, 'e', {}, undefined, limit);
}
