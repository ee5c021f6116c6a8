// A person's live notifications: replay after a position, then live ones, with no gap and no duplicate at the seam.
import { AppError, type Knex } from '@taskflow/shared';
import { type FeedNotification, notificationSeqOf, recipientNotificationsAfter } from '../db/notifications';
import type { FeedTail } from './feed-tail';

export interface NotificationStreamDeps {
  db: Knex;
  notificationTail: FeedTail<FeedNotification>;
}

export interface NotificationStreamSink {
  deliver(notification: FeedNotification): void;
  readonly closed: boolean;
  readonly backlogged: boolean;
  drained(): Promise<void>;
}

export const recipientKey = (userId: string): string => `recipient:${userId}`;
export const notificationKeysOf = (row: FeedNotification): string[] => [recipientKey(row.recipient_id)];

const REPLAY_PAGE = 500;

/**
 * Checks the position (errors are thrown before anything is streamed), then streams the caller's
 * notifications into `sink`. Resolves once the stream runs live; call the returned function when it ends.
 */
export async function openNotificationStream(deps: NotificationStreamDeps, userId: string, after: string | undefined, sink: NotificationStreamSink): Promise<() => void> {
  const { db, notificationTail } = deps;
  let cursor = notificationTail.position;
  if (after !== undefined) {
    const seq = await notificationSeqOf(db, after, userId);
    if (seq === undefined) {
      throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID (or after) names none of your notifications; reconnect without it.', { after: ['Unknown notification.'] });
    }
    cursor = seq;
  }
  let replaying = true;
  let pending: FeedNotification[] = [];
  const handle = (row: FeedNotification) => {
    if (row.seq <= cursor) return;
    cursor = row.seq;
    sink.deliver(row);
  };
  // Subscribe first, then replay: rows committed meanwhile wait in `pending`, and `cursor` drops duplicates.
  // A replay reads on from the table, so held rows past a bound are dropped rather than kept.
  const unsubscribe = notificationTail.subscribe(recipientKey(userId), (row) => {
    if (sink.closed) return unsubscribe();
    if (!replaying) return handle(row);
    if (pending.length < 1000) pending.push(row);
  });
  try {
    for (;;) {
      const rows = await recipientNotificationsAfter(db, userId, cursor, REPLAY_PAGE);
      for (const row of rows) {
        handle(row);
        if (sink.backlogged) await sink.drained();
      }
      if (rows.length < REPLAY_PAGE || sink.closed) break;
    }
    // Anything dropped from `pending` is in the table after `cursor`: one more read catches it.
    for (const row of await recipientNotificationsAfter(db, userId, cursor, REPLAY_PAGE)) handle(row);
  } catch (err) {
    unsubscribe();
    throw err;
  }
  replaying = false;
  const held = pending;
  pending = [];
  for (const row of held) handle(row);
  return unsubscribe;
}
