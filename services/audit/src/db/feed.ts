// All SQL of the live feeds: numbering new rows in commit order, waking every replica, reading what follows a position.
import { beforeCommit, type Knex } from '@taskflow/shared';
import type { ActivityRecord } from '../domain/activity';
import type { NotificationDraft } from '../domain/notifications';
import { insertActivity } from './activity';
import { ACTIVITY_COLUMNS, ACTIVITY_TABLE } from './migrations';
import { insertNotifications, storedNotificationKeys } from './notifications';

/** The NOTIFY channel every audit replica LISTENs on; the payload names the feed that grew (`activity`, `notifications`). */
export const FEED_CHANNEL = 'audit_feed';

/** One arbitrary constant: the advisory lock that orders feed inserts (any 64-bit number unique to this use). */
const FEED_ORDER_LOCK = 7_315_042_611;

/** What one transaction adds to the feeds, written together just before it commits. */
interface FeedWrites {
  activity: ActivityRecord[];
  notifications: NotificationDraft[];
  /** `notificationKey`s of the drafts above. */
  keys: Set<string>;
}
const pendingWrites = new WeakMap<Knex.Transaction, FeedWrites>();

const notificationKey = (d: Pick<NotificationDraft, 'event_id' | 'recipient_id' | 'kind'>) => `${d.event_id} ${d.recipient_id} ${d.kind}`;

/**
 * Adds an activity entry and notifications to the feeds when `trx` commits (it must be opened by
 * `inTransaction`, as the consumer's is) and returns the drafts that are new: neither stored already nor
 * added earlier in this transaction (a redelivered event, an invitation told on two paths).
 *
 * The rows are inserted by one step just before COMMIT, under a transaction-scoped advisory lock, so
 * `seq` values are handed out in commit order (a reader that has seen seq N never later finds a committed
 * row below N) while the lock is held only for those inserts and the commit, never for the rest of the
 * transaction's work. NOTIFY is delivered at commit, once per transaction and payload.
 */
export async function appendToFeeds(trx: Knex.Transaction, activity: ActivityRecord | null, drafts: NotificationDraft[]): Promise<NotificationDraft[]> {
  let writes = pendingWrites.get(trx);
  if (!writes) {
    const created: FeedWrites = { activity: [], notifications: [], keys: new Set() };
    beforeCommit(trx, () => writeFeeds(trx, created));
    pendingWrites.set(trx, (writes = created));
  }
  if (activity) writes.activity.push(activity);
  const unseen = drafts.filter((d, i) => !writes.keys.has(notificationKey(d)) && drafts.findIndex((o) => notificationKey(o) === notificationKey(d)) === i);
  const stored = new Set((await storedNotificationKeys(trx, unseen)).map(notificationKey));
  const fresh = unseen.filter((d) => !stored.has(notificationKey(d)));
  for (const draft of fresh) writes.keys.add(notificationKey(draft));
  writes.notifications.push(...fresh);
  return fresh;
}

async function writeFeeds(trx: Knex.Transaction, writes: FeedWrites): Promise<void> {
  if (writes.activity.length === 0 && writes.notifications.length === 0) return;
  await trx.raw('select pg_advisory_xact_lock(?)', [FEED_ORDER_LOCK]);
  if (writes.activity.length > 0) {
    await insertActivity(trx, writes.activity);
    await trx.raw('select pg_notify(?, ?)', [FEED_CHANNEL, 'activity']);
  }
  if (writes.notifications.length > 0) {
    await insertNotifications(trx, writes.notifications);
    await trx.raw('select pg_notify(?, ?)', [FEED_CHANNEL, 'notifications']);
  }
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
