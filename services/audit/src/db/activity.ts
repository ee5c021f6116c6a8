// All SQL on the activity log.
import {
  acrossOrganizations,
  isoTimestamp,
  type JsonPage,
  type KeyValue,
  keyset,
  type Knex,
  readJsonPage,
  type ReplicaRow,
  type Sql,
} from '@taskflow/shared';
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

/**
 * An entry as the API shows it to a reader whose role in its organization is `r.role`, over a page's
 * row `r`: `visibleTo` in SQL (owners and admins read `action` and every change; others `member_action`,
 * and an invite's changes without `email`), `presentActivity`'s field names and order. `changes` is
 * jsonb, whose text has a space after each `:` and `,`: they are removed outside strings, so the text
 * is what JSON.stringify writes of the same value (no `?` in the pattern: `numbered` takes each for a parameter).
 */
const ACTIVITY_FIELDS = [
  'r.id',
  'r.organization_id as organization',
  'r.actor_id as actor',
  'r.actor_email',
  'r.verb',
  `case when r.role in ('owner', 'admin') then r.action else r.member_action end as action`,
  '(select t from (select r.target_type as type, r.target_id as id) as t) as target',
  `regexp_replace((case when r.role in ('owner', 'admin') or left(r.verb, 7) <> 'invite.' then r.changes else r.changes - 'email' end)::text,` +
    ` '("([^"\\\\]|\\\\.)*")|([:,]) ', '\\1\\3', 'g')::json as changes`,
  `${isoTimestamp('r.created_at')} as created_at`,
  'r.request_id',
].join(', ');

/**
 * One page of `limit` entries, newest first, of the organizations in `memberships` (`organization_id,
 * role` rows: each entry is shown as that role may see it), written by PostgreSQL as JSON (`jsonPage`)
 * with `extra` select-list items. Takes the newest `limit + 1` of each organization through its index,
 * then the newest of those, so the cost does not grow with the size of the log. One prepared statement
 * per filter shape.
 */
export async function listActivityPage(
  db: Knex,
  memberships: Sql,
  filters: ActivityFilters,
  after: ActivityPosition | undefined,
  limit: number,
  extra?: Sql,
): Promise<JsonPage & ReplicaRow> {
  const where = ['a.organization_id = o.organization_id'];
  const values: Knex.Value[] = [];
  const add = (condition: string, value: Knex.Value) => {
    where.push(condition);
    values.push(value);
  };
  if (filters.actor) add('a.actor_id = ?', filters.actor);
  if (filters.verb) add('a.verb = ?', filters.verb);
  if (filters.target_type) add('a.target_type = ?', filters.target_type);
  if (filters.target_id) add('a.target_id = ?', filters.target_id);
  if (filters.since) add('a.created_at >= ?', filters.since);
  if (filters.until) add('a.created_at < ?', filters.until);
  if (after) {
    const bound = newestFirst.after('a', after);
    where.push(bound.text);
    values.push(...bound.values);
  }
  const perOrganization: Sql = {
    text: `select ${ACTIVITY_COLUMNS.map((name) => `a.${name}`).join(', ')} from ${ACTIVITY_TABLE} as a where ${where.join(' and ')} order by ${newestFirst.orderBy('a')} limit ?`,
    values: [...values, limit + 1],
  };
  return readJsonPage(db, {
    rows: acrossOrganizations({ organizations: memberships, perOrganization, keyset: newestFirst, limit: limit + 1, select: 'page.*, o.role' }),
    keyset: newestFirst,
    fields: ACTIVITY_FIELDS,
    cursor: [isoTimestamp('r.created_at'), 'r.id'],
    limit,
    extra,
  });
}
