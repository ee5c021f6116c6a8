// All SQL of the live feeds: numbering new rows in commit order, waking every replica, reading what follows a position.
import type { Knex } from '@taskflow/shared';
import type { ActivityRecord } from '../domain/activity';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE } from './migrations';

/** The NOTIFY channel every audit replica LISTENs on; the payload names the feed that grew. */
export const FEED_CHANNEL = 'audit_feed';
export type FeedName = 'activity' | 'notifications';

/** One arbitrary constant: the advisory lock that orders feed inserts (any 64-bit number unique to this use). */
const FEED_ORDER_LOCK = 7_315_042_611;

/**
 * Call in a transaction before it inserts feed rows. The transaction-scoped lock is held until commit,
 * so `seq` values (drawn after it) are handed out in commit order: a reader that has seen seq N will
 * never later find a committed row below N. NOTIFY is delivered at commit, once per transaction and payload.
 */
export async function claimFeedOrder(trx: Knex.Transaction, feed: FeedName): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?)', [FEED_ORDER_LOCK]);
  await trx.raw('select pg_notify(?, ?)', [FEED_CHANNEL, feed]);
}

/** An activity entry with its place in the feed. */
export type FeedActivity = ActivityRecord & { seq: number };

const activityColumns = ['seq', ...ACTIVITY_COLUMNS] as const;

// bigserial arrives as a string; positions stay far below 2^53.
const withSeq = <R extends { seq: string | number }>(rows: R[]): Array<R & { seq: number }> => rows.map((r) => ({ ...r, seq: Number(r.seq) }));

/** The newest position of the activity feed (0 when empty). */
export async function lastActivitySeq(db: Knex): Promise<number> {
  const row = await db(ACTIVITY_TABLE).max('seq as seq').first();
  return Number(row?.seq ?? 0);
}

/** Entries of every organization after `seq`, in feed order (what a replica's fan-out reads once for all its streams). */
export async function activityAfter(db: Knex, seq: number, limit: number): Promise<FeedActivity[]> {
  return withSeq(await db(ACTIVITY_TABLE).select(activityColumns).where('seq', '>', seq).orderBy('seq').limit(limit));
}

/** Entries of `organizationIds` after `seq`, in feed order (a stream's replay). */
export async function organizationsActivityAfter(db: Knex, organizationIds: string[], seq: number, limit: number): Promise<FeedActivity[]> {
  if (organizationIds.length === 0) return [];
  return withSeq(
    await db(ACTIVITY_TABLE).select(activityColumns).whereIn('organization_id', organizationIds).where('seq', '>', seq).orderBy('seq').limit(limit),
  );
}

/**
 * The feed position of entry `id`, if it belongs to an organization in `organizationIds`; a reconnecting
 * client names the last entry it saw, which may be of an organization it has since left (still its own past).
 */
export async function activitySeqOf(db: Knex, id: string, organizationIds: Knex.QueryBuilder): Promise<number | undefined> {
  const row = await db(ACTIVITY_TABLE).select('seq').where('id', id).whereIn('organization_id', organizationIds).first();
  return row ? Number(row.seq) : undefined;
}
