// A person's notifications: reading, counting and marking their own, and their email preferences.
import type { Knex } from '@taskflow/shared';
import {
  countUnread,
  listNotifications,
  markRead,
  mergeEmailPreferences,
  type NotificationPosition,
  readEmailPreferences,
} from '../db/notifications';
import { type MailedKind, mailedKinds, type NotificationRecord } from './notifications';

export type { NotificationPosition } from '../db/notifications';

export interface NotificationDeps {
  db: Knex;
}

export type EmailPreferences = Record<MailedKind, boolean>;

export function listNotificationsForUser(
  deps: NotificationDeps,
  userId: string,
  options: { unread: boolean },
  after: NotificationPosition | undefined,
  limit: number,
): Promise<NotificationRecord[]> {
  return listNotifications(deps.db, userId, options, after, limit);
}

export function unreadCountOf(deps: NotificationDeps, userId: string): Promise<number> {
  return countUnread(deps.db, userId);
}

/** Marks read only the caller's own notifications; ids of anyone else's change nothing. */
export function markNotificationsRead(deps: NotificationDeps, userId: string, which: { ids: string[] } | 'all'): Promise<void> {
  return markRead(deps.db, userId, which);
}

/** Every mailed kind is on unless the user turned it off. */
function withDefaults(stored: Record<string, boolean>): EmailPreferences {
  return Object.fromEntries(mailedKinds.map((kind) => [kind, stored[kind] ?? true])) as EmailPreferences;
}

export async function emailPreferencesOf(deps: NotificationDeps, userId: string): Promise<EmailPreferences> {
  return withDefaults(await readEmailPreferences(deps.db, userId));
}

export async function updateEmailPreferences(deps: NotificationDeps, userId: string, email: Partial<EmailPreferences>): Promise<EmailPreferences> {
  return withDefaults(await mergeEmailPreferences(deps.db, userId, email));
}
