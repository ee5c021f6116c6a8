// Which new notifications are also mailed, and what the mail says (API.md, Notifications: `task.assigned`
// and `invite.received`, unless the recipient turned the kind off; at most one per kind per task per minute).
import { randomUUID } from 'node:crypto';
import { type Knex, plainTextLine, queueMail } from '@taskflow/shared';
import { verifiedAddressOf } from '../db/invites';
import { claimMailSlot } from '../db/notification-mail';
import { readEmailPreferences } from '../db/notifications';
import { type MailedKind, mailedKinds, type NotificationDraft } from './notifications';

/** The rule's window: a second `task.assigned` of the same task within it is not mailed again. */
export const MAIL_WINDOW_SECONDS = 60;

const isMailed = (kind: string): kind is MailedKind => (mailedKinds as readonly string[]).includes(kind);

const subjects: Record<MailedKind, string> = {
  'task.assigned': 'A task was assigned to you on TaskFlow',
  'invite.received': 'You are invited to an organization on TaskFlow',
};

/** The mail of one notification: who did what, as one plain line each (titles and names are user text). */
export function mailOf(notification: NotificationDraft & { kind: MailedKind }): { subject: string; text: string } {
  const who = plainTextLine(notification.actor_email ?? 'TaskFlow');
  return {
    subject: subjects[notification.kind],
    text: [
      `${who}: ${plainTextLine(notification.message)}`,
      '',
      notification.kind === 'invite.received' ? 'Your pending invitations are listed at GET /api/v1/invites/mine/.' : 'Your notifications are listed at GET /api/v1/notifications/.',
      '',
      'You can turn these emails off in your notification preferences.',
    ].join('\n'),
  };
}

/**
 * Queues the mail of `notifications` (new ones, about to be stored in the consumer's transaction: the
 * inbox makes this happen once per event) to each recipient's verified address, unless their preference turns the kind
 * off or they were mailed of the same kind and target within the window.
 */
export async function mailNotifications(trx: Knex.Transaction, notifications: NotificationDraft[]): Promise<number> {
  let queued = 0;
  for (const notification of notifications) {
    const { kind } = notification;
    if (!isMailed(kind)) continue;
    if ((await readEmailPreferences(trx, notification.recipient_id))[kind] === false) continue;
    const address = await verifiedAddressOf(trx, notification.recipient_id);
    if (!address) continue;
    if (!(await claimMailSlot(trx, notification, MAIL_WINDOW_SECONDS))) continue;
    await queueMail(trx, { id: randomUUID(), to: address.email, ...mailOf({ ...notification, kind }) });
    queued += 1;
  }
  return queued;
}
