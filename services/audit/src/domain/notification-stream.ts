// A person's live notifications: their own rows of the notifications feed, through the one stream mechanism (feed-stream.ts).
import { AppError, type Knex } from '@taskflow/shared';
import { type FeedNotification, notificationSeqOf, recipientNotificationsAfter } from '../db/notifications';
import { followFeed, type StreamSink } from './feed-stream';
import type { FeedTail } from './feed-tail';

export type { FeedNotification } from '../db/notifications';

export interface NotificationStreamDeps {
  db: Knex;
  notificationTail: FeedTail<FeedNotification>;
}

export const recipientKey = (userId: string): string => `recipient:${userId}`;
export const notificationKeysOf = (row: FeedNotification): string[] => [recipientKey(row.recipient_id)];

/**
 * Checks the position (errors are thrown before anything is streamed), then streams the caller's
 * notifications into `sink`. Resolves once the stream runs live; call the returned function when it ends.
 */
export async function openNotificationStream(deps: NotificationStreamDeps, userId: string, after: string | undefined, sink: StreamSink<FeedNotification>): Promise<() => void> {
  const { db, notificationTail } = deps;
  let cursor = notificationTail.position;
  if (after !== undefined) {
    const seq = await notificationSeqOf(db, after, userId);
    if (seq === undefined) {
      throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID (or after) names none of your notifications; reconnect without it.', { after: ['Unknown notification.'] });
    }
    cursor = seq;
  }
  return followFeed({
    tail: notificationTail,
    after: cursor,
    keys: [recipientKey(userId)],
    replay: (_keys, after, limit) => recipientNotificationsAfter(db, userId, after, limit),
    handle: (row) => sink.deliver(row),
    sink,
  });
}
