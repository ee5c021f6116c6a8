// All SQL on notifications and their email preferences.
import { randomUUID } from 'node:crypto';
import { type KeyValue, keyset, keysetPage, type Knex, MEMBERSHIP_TABLE } from '@taskflow/shared';
import type { NotificationDraft, NotificationRecord } from '../domain/notifications';
import { ACTIVITY_TABLE, NOTIFICATION_PREFERENCES_TABLE, NOTIFICATIONS_TABLE, PENDING_INVITES_TABLE } from './migrations';

/** A place in the newest-first order, `[created_at, id]`: notifications strictly after it are older (ties broken by id). */
export type NotificationPosition = readonly [KeyValue, string];

/** Newest first, ties by id; both keys descend, as the indexes do. */
const newestFirst = keyset([
  { column: 'created_at', descending: true },
  { column: 'id', descending: true },
]);

const columns = ['id', 'recipient_id', 'kind', 'organization_id', 'actor_id', 'actor_email', 'target_type', 'target_id', 'message', 'created_at', 'read_at'] as const;

/** Stores the drafts; one already stored for the same event, person and kind is left alone. Only db/feed.ts calls it, under the feed lock. */
export async function insertNotifications(trx: Knex.Transaction, drafts: NotificationDraft[]): Promise<void> {
  await trx(NOTIFICATIONS_TABLE)
    .insert(drafts.map((draft) => ({ id: randomUUID(), ...draft })))
    .onConflict(['event_id', 'recipient_id', 'kind'])
    .ignore();
}

type NotificationKey = Pick<NotificationDraft, 'event_id' | 'recipient_id' | 'kind'>;

/** Which of `drafts` are stored already (same event, person and kind). */
export async function storedNotificationKeys(trx: Knex.Transaction, drafts: NotificationKey[]): Promise<NotificationKey[]> {
  if (drafts.length === 0) return [];
  return trx(NOTIFICATIONS_TABLE)
    .select('event_id', 'recipient_id', 'kind')
    .whereIn(['event_id', 'recipient_id', 'kind'], drafts.map((d) => [d.event_id, d.recipient_id, d.kind]));
}

/** Whether the replica holds `userId`'s removal from the organization (its tombstone): no new notifications from it. */
export async function hasLeft(trx: Knex.Transaction, userId: string, organizationId: string): Promise<boolean> {
  const row = await trx(MEMBERSHIP_TABLE).where({ user_id: userId, organization_id: organizationId }).whereNull('role').first('user_id');
  return row !== undefined;
}

/**
 * The sender of an invite: from the pending invite (written at once, so also when the acceptance is
 * applied in the same transaction as the sending), else from the log's `invite.sent` entry.
 */
export async function inviterOf(trx: Knex.Transaction, inviteId: string): Promise<string | null> {
  const pending = await trx(PENDING_INVITES_TABLE).where({ invite_id: inviteId }).first('inviter_id');
  if (pending) return (pending.inviter_id as string | null) ?? null;
  const row = await trx(ACTIVITY_TABLE).where({ target_type: 'invite', target_id: inviteId, verb: 'invite.sent' }).first('actor_id');
  return (row?.actor_id as string | null | undefined) ?? null;
}

/** One person's notifications, newest first, strictly after `after`; at most `limit`. */
export async function listNotifications(
  db: Knex,
  recipientId: string,
  options: { unread: boolean },
  after: NotificationPosition | undefined,
  limit: number,
): Promise<NotificationRecord[]> {
  const query = db(NOTIFICATIONS_TABLE).select(columns).where('recipient_id', recipientId);
  if (options.unread) query.whereNull('read_at');
  return keysetPage(query, newestFirst, NOTIFICATIONS_TABLE, after).limit(limit);
}

export async function countUnread(db: Knex, recipientId: string): Promise<number> {
  const row = await db(NOTIFICATIONS_TABLE).where('recipient_id', recipientId).whereNull('read_at').count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Marks the recipient's unread notifications read: those in `ids`, or all of them. Others' ids match nothing. */
export async function markRead(db: Knex, recipientId: string, which: { ids: string[] } | 'all'): Promise<void> {
  const query = db(NOTIFICATIONS_TABLE).where('recipient_id', recipientId).whereNull('read_at');
  if (which !== 'all') query.whereIn('id', which.ids);
  await query.update({ read_at: db.fn.now() });
}

/** The stored email choices of a user (only those they made). */
export async function readEmailPreferences(db: Knex | Knex.Transaction, userId: string): Promise<Record<string, boolean>> {
  const row = await db(NOTIFICATION_PREFERENCES_TABLE).where('user_id', userId).first('email');
  return (row?.email as Record<string, boolean> | undefined) ?? {};
}

/** Merges `email` into the stored choices and returns the result. */
export async function mergeEmailPreferences(db: Knex, userId: string, email: Record<string, boolean>): Promise<Record<string, boolean>> {
  const [row] = await db(NOTIFICATION_PREFERENCES_TABLE)
    .insert({ user_id: userId, email: JSON.stringify(email) })
    .onConflict('user_id')
    .merge({ email: db.raw(`${NOTIFICATION_PREFERENCES_TABLE}.email || excluded.email`), updated_at: db.fn.now() })
    .returning('email');
  return row.email as Record<string, boolean>;
}

/** A notification with its place in the personal streams' order. */
export type FeedNotification = NotificationRecord & { seq: number };

const feedColumns = ['seq', ...columns] as const;
const withSeq = (rows: Array<NotificationRecord & { seq: string | number }>): FeedNotification[] => rows.map((r) => ({ ...r, seq: Number(r.seq) }));

/** The newest position of the notifications feed (0 when empty). */
export async function lastNotificationSeq(db: Knex): Promise<number> {
  const row = await db(NOTIFICATIONS_TABLE).max('seq as seq').first();
  return Number(row?.seq ?? 0);
}

/** Everyone's notifications after `seq`, in feed order (a replica's fan-out). */
export async function notificationsAfter(db: Knex, seq: number, limit: number): Promise<FeedNotification[]> {
  return withSeq(await db(NOTIFICATIONS_TABLE).select(feedColumns).where('seq', '>', seq).orderBy('seq').limit(limit));
}

/** One person's notifications after `seq`, in feed order (a stream's replay). */
export async function recipientNotificationsAfter(db: Knex, recipientId: string, seq: number, limit: number): Promise<FeedNotification[]> {
  return withSeq(await db(NOTIFICATIONS_TABLE).select(feedColumns).where({ recipient_id: recipientId }).where('seq', '>', seq).orderBy('seq').limit(limit));
}

/** The feed position of notification `id` if it is `recipientId`'s. */
export async function notificationSeqOf(db: Knex, id: string, recipientId: string): Promise<number | undefined> {
  const row = await db(NOTIFICATIONS_TABLE).select('seq').where({ id, recipient_id: recipientId }).first();
  return row ? Number(row.seq) : undefined;
}
