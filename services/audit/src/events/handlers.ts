// What audit does with each event it consumes (queue `audit`, bound to every event type). Each runs
// in the consumer's transaction together with the inbox row, so every event is applied exactly once
// (its activity entry, its notifications and their mail), however many audit replicas consume.
import { applyMembershipEvent, applyUserEvent, canonicalEmail, type EventEnvelope, type Knex, type QueueHandlers } from '@taskflow/shared';
import { appendToFeeds } from '../db/feed';
import { forgetInvite, forgetOrganizationInvites, pendingInvitesTo, storePendingInvite, verifiedAddressOf, verifiedUserWith } from '../db/invites';
import { hasLeft, inviterOf } from '../db/notifications';
import { type ActivityRecord, activityOf } from '../domain/activity';
import type { AnyEvent } from '../domain/describe';
import { mailNotifications } from '../domain/notification-mail';
import { inviteReceived, type NotificationDraft, notificationsOf, pendingInviteOf } from '../domain/notifications';

/**
 * Stores the notifications and mails those that were new. A member who left hears nothing more from the
 * organization, except of their own removal; an invitation reaches its invitee whatever their past there.
 */
async function record(trx: Knex.Transaction, activity: ActivityRecord | null, drafts: NotificationDraft[]): Promise<void> {
  const kept = [];
  for (const draft of drafts) {
    const exempt = draft.kind === 'membership.removed' || draft.kind === 'invite.received';
    if (exempt || !(await hasLeft(trx, draft.recipient_id, draft.organization_id))) kept.push(draft);
  }
  await mailNotifications(trx, await appendToFeeds(trx, activity, kept));
}

/** Records the event as one activity entry of its organization (events of no organization are skipped), and notifies the people it concerns. */
async function recordActivity(trx: Knex.Transaction, event: EventEnvelope): Promise<void> {
  const facts = { inviterOf: (inviteId: string) => inviterOf(trx, inviteId), verifiedUserWith: (email: string) => verifiedUserWith(trx, email) };
  await record(trx, activityOf(event as AnyEvent), await notificationsOf(event as AnyEvent, facts));
}

type MembershipType = 'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed';

/** Keeps the membership replica (who may read which organization's log) current, and records the change. */
async function recordMembershipChange(trx: Knex.Transaction, event: EventEnvelope<MembershipType>): Promise<void> {
  await applyMembershipEvent(trx, event);
  await recordActivity(trx, event);
}

/** Keeps the invite pending until it is accepted, revoked (or replaced), so an address verified later hears of it. */
async function recordInvite(trx: Knex.Transaction, event: EventEnvelope<'tenancy.invite.sent' | 'tenancy.invite.revoked' | 'tenancy.invite.accepted'>): Promise<void> {
  if (event.type === 'tenancy.invite.sent') {
    const invite = pendingInviteOf(event as EventEnvelope<'tenancy.invite.sent'>);
    if (invite) await storePendingInvite(trx, invite);
    await recordActivity(trx, event);
  } else {
    // The acceptance tells the inviter, whom the pending invite names: forget it after.
    await recordActivity(trx, event);
    await forgetInvite(trx, event.data.invite.id);
  }
}

async function recordOrganizationDeleted(trx: Knex.Transaction, event: EventEnvelope<'tenancy.organization.deleted'>): Promise<void> {
  await forgetOrganizationInvites(trx, event.data.organization.id);
  await recordActivity(trx, event);
}

/**
 * Keeps the user profile replica (verified addresses: who an invite reaches, where mail goes) current. A
 * user whose address is verified now is told of the invites pending to it (the notification of an invite
 * is keyed by its `invite.sent` event, so one already given is not given again).
 */
async function recordUser(trx: Knex.Transaction, event: EventEnvelope<'identity.user.registered' | 'identity.user.updated'>): Promise<void> {
  await applyUserEvent(trx, event);
  const address = await verifiedAddressOf(trx, event.data.user.id);
  if (address && address.email_canonical === canonicalEmail(event.data.user.email)) {
    const drafts = (await pendingInvitesTo(trx, address.email_canonical)).flatMap((invite) => inviteReceived(invite, event.data.user.id));
    await record(trx, null, drafts);
  }
  await recordActivity(trx, event);
}

/** Every event type has an entry here (the type requires it), so no declared event goes unrecorded. */
export const auditHandlers: QueueHandlers<'audit'> = {
  'identity.user.registered': recordUser,
  'identity.user.updated': recordUser,
  'tenancy.organization.created': recordActivity,
  'tenancy.organization.renamed': recordActivity,
  'tenancy.organization.deleted': recordOrganizationDeleted,
  'tenancy.membership.added': recordMembershipChange,
  'tenancy.membership.role_changed': recordMembershipChange,
  'tenancy.membership.removed': recordMembershipChange,
  'tenancy.invite.sent': recordInvite,
  'tenancy.invite.revoked': recordInvite,
  'tenancy.invite.accepted': recordInvite,
  'work.project.created': recordActivity,
  'work.project.updated': recordActivity,
  'work.project.deleted': recordActivity,
  'work.task.created': recordActivity,
  'work.task.updated': recordActivity,
  'work.task.deleted': recordActivity,
  'webhooks.endpoint.created': recordActivity,
  'webhooks.endpoint.updated': recordActivity,
  'webhooks.endpoint.deleted': recordActivity,
  'webhooks.endpoint.secret_rotated': recordActivity,
  'webhooks.endpoint.disabled': recordActivity,
};
