// What audit does with each event it consumes (queue `audit`, bound to every event type). Each runs
// in the consumer's transaction together with the inbox row, so every event is applied exactly once.
import { applyMembershipEvent, type EventEnvelope, type Knex, type QueueHandlers } from '@taskflow/shared';
import { insertActivity } from '../db/activity';
import { hasLeft, insertNotifications, inviterOf } from '../db/notifications';
import { activityOf } from '../domain/activity';
import type { AnyEvent } from '../domain/describe';
import { notificationsOf } from '../domain/notifications';

/**
 * Records the event as one activity entry of its organization (events of no organization are skipped),
 * and notifies the people it concerns. A member who left hears nothing more from the organization,
 * except of their own removal.
 */
async function recordActivity(trx: Knex.Transaction, event: EventEnvelope): Promise<void> {
  const record = activityOf(event as AnyEvent);
  if (record) await insertActivity(trx, record);
  const drafts = await notificationsOf(event as AnyEvent, { inviterOf: (inviteId) => inviterOf(trx, inviteId) });
  const kept = [];
  for (const draft of drafts) {
    if (draft.kind === 'membership.removed' || !(await hasLeft(trx, draft.recipient_id, draft.organization_id))) kept.push(draft);
  }
  await insertNotifications(trx, kept);
}

type MembershipType = 'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed';

/** Keeps the membership replica (who may read which organization's log) current, and records the change. */
async function recordMembershipChange(trx: Knex.Transaction, event: EventEnvelope<MembershipType>): Promise<void> {
  await applyMembershipEvent(trx, event);
  await recordActivity(trx, event);
}

/** Every event type has an entry here (the type requires it), so no declared event goes unrecorded. */
export const auditHandlers: QueueHandlers<'audit'> = {
  'identity.user.registered': recordActivity,
  'identity.user.updated': recordActivity,
  'tenancy.organization.created': recordActivity,
  'tenancy.organization.renamed': recordActivity,
  'tenancy.organization.deleted': recordActivity,
  'tenancy.membership.added': recordMembershipChange,
  'tenancy.membership.role_changed': recordMembershipChange,
  'tenancy.membership.removed': recordMembershipChange,
  'tenancy.invite.sent': recordActivity,
  'tenancy.invite.revoked': recordActivity,
  'tenancy.invite.accepted': recordActivity,
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
