// Which person an event concerns and what they are told: never the actor themself (API.md, Notifications).
import { canonicalEmail, type EventEnvelope } from '@taskflow/shared';
import type { AnyEvent } from './describe';

export const notificationKinds = [
  'task.assigned',
  'task.unassigned',
  'task.changed',
  'invite.received',
  'invite.accepted',
  'membership.role_changed',
  'membership.removed',
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** Kinds that are also mailed unless the recipient's preference turns them off. */
export const mailedKinds = ['task.assigned', 'invite.received'] as const;
export type MailedKind = (typeof mailedKinds)[number];

/** One notification as derived from an event, before it is stored. */
export interface NotificationDraft {
  event_id: string;
  recipient_id: string;
  kind: NotificationKind;
  organization_id: string;
  actor_id: string | null;
  actor_email: string | null;
  target_type: 'task' | 'invite' | 'member';
  target_id: string;
  message: string;
  created_at: Date;
}

/** One stored notification. */
export interface NotificationRecord extends Omit<NotificationDraft, 'event_id'> {
  id: string;
  read_at: Date | null;
}

/** Task fields whose change by someone else the assignee hears of. */
const WATCHED_TASK_FIELDS = ['status', 'priority', 'due_date', 'title'] as const;

/** What the derivation needs to know beyond the event itself (read in the consumer's transaction). */
export interface NotificationFacts {
  /** Who sent the invite with this id (from its `invite.sent` entry), if known. */
  inviterOf(inviteId: string): Promise<string | null>;
  /** The user whose verified address is `emailCanonical`, if identity has told us of one. */
  verifiedUserWith(emailCanonical: string): Promise<string | null>;
}

/** An invite still waiting for its invitee, as audit keeps it (so an address verified later hears of it). */
export interface PendingInvite {
  invite_id: string;
  /** The `tenancy.invite.sent` event: its notification is keyed by it, however it comes about. */
  event_id: string;
  organization_id: string;
  organization_name: string;
  email_canonical: string;
  inviter_id: string | null;
  inviter_email: string | null;
  sent_at: Date;
  expires_at: Date;
}

export function pendingInviteOf(event: EventEnvelope<'tenancy.invite.sent'>): PendingInvite | null {
  if (!event.organization_id) return null;
  const { invite, organization } = event.data;
  return {
    invite_id: invite.id,
    event_id: event.id,
    organization_id: event.organization_id,
    organization_name: organization.name,
    email_canonical: canonicalEmail(invite.email),
    inviter_id: event.actor_id,
    inviter_email: event.actor_email,
    sent_at: new Date(event.occurred_at),
    expires_at: new Date(invite.expires_at),
  };
}

/**
 * `invite.received` for the user whose verified address the invite names: when the invite is sent, or
 * when that address is verified later while the invite is pending. Never for the inviter themself.
 */
export function inviteReceived(invite: PendingInvite, recipientId: string): NotificationDraft[] {
  if (recipientId === invite.inviter_id) return [];
  return [
    {
      event_id: invite.event_id,
      recipient_id: recipientId,
      kind: 'invite.received',
      organization_id: invite.organization_id,
      actor_id: invite.inviter_id,
      actor_email: invite.inviter_email,
      target_type: 'invite',
      target_id: invite.invite_id,
      message: `Invited you to ${invite.organization_name}`,
      created_at: invite.sent_at,
    },
  ];
}

const asId = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);

/** The notifications `event` gives rise to, for people other than its actor. */
export async function notificationsOf(event: AnyEvent, facts: NotificationFacts): Promise<NotificationDraft[]> {
  const organizationId = event.organization_id;
  if (!organizationId) return [];
  const base = (recipient: string, kind: NotificationKind, target: { type: NotificationDraft['target_type']; id: string }, message: string): NotificationDraft => ({
    event_id: event.id,
    recipient_id: recipient,
    kind,
    organization_id: organizationId,
    actor_id: event.actor_id,
    actor_email: event.actor_email,
    target_type: target.type,
    target_id: target.id,
    message,
    created_at: new Date(event.occurred_at),
  });
  const drafts = await draftsOf(event, facts, base);
  return drafts.filter((draft) => draft.recipient_id !== event.actor_id);
}

type Build = (recipient: string, kind: NotificationKind, target: { type: NotificationDraft['target_type']; id: string }, message: string) => NotificationDraft;

async function draftsOf(event: AnyEvent, facts: NotificationFacts, build: Build): Promise<NotificationDraft[]> {
  switch (event.type) {
    case 'work.task.created': {
      const { task } = (event as EventEnvelope<'work.task.created'>).data;
      const assignee = asId(task.assigned_to);
      return assignee ? [build(assignee, 'task.assigned', { type: 'task', id: task.id }, `Assigned you task '${task.title}'`)] : [];
    }
    case 'work.task.updated': {
      const { task, changes } = (event as EventEnvelope<'work.task.updated'>).data;
      const target = { type: 'task' as const, id: task.id };
      const drafts: NotificationDraft[] = [];
      const assignment = changes.assigned_to;
      const [previous, current] = assignment ? [asId(assignment[0]), asId(assignment[1])] : [null, asId(task.assigned_to)];
      if (assignment && current && current !== previous) drafts.push(build(current, 'task.assigned', target, `Assigned you task '${task.title}'`));
      if (assignment && previous && previous !== current) drafts.push(build(previous, 'task.unassigned', target, `Unassigned you from task '${task.title}'`));
      const changed = WATCHED_TASK_FIELDS.filter((field) => field in changes);
      // A person newly assigned hears of the assignment; the other changes come with it.
      const newlyAssigned = assignment !== undefined && current !== previous;
      if (current && changed.length > 0 && !newlyAssigned) {
        drafts.push(build(current, 'task.changed', target, `Changed ${changed.join(', ').replace('due_date', 'due date')} of task '${task.title}'`));
      }
      return drafts;
    }
    case 'tenancy.invite.sent': {
      const invite = pendingInviteOf(event as EventEnvelope<'tenancy.invite.sent'>);
      const recipient = invite ? await facts.verifiedUserWith(invite.email_canonical) : null;
      return invite && recipient ? inviteReceived(invite, recipient) : [];
    }
    case 'tenancy.invite.accepted': {
      const { invite, organization } = (event as EventEnvelope<'tenancy.invite.accepted'>).data;
      const inviter = await facts.inviterOf(invite.id);
      return inviter ? [build(inviter, 'invite.accepted', { type: 'invite', id: invite.id }, `Accepted your invitation to ${organization.name}`)] : [];
    }
    case 'tenancy.membership.role_changed': {
      const { user, changes } = (event as EventEnvelope<'tenancy.membership.role_changed'>).data;
      const [from, to] = changes.role;
      return [build(user.id, 'membership.role_changed', { type: 'member', id: user.id }, `Changed your role from ${from} to ${to}`)];
    }
    case 'tenancy.membership.removed': {
      const { user, reason } = (event as EventEnvelope<'tenancy.membership.removed'>).data;
      const message = reason === 'organization_deleted' ? 'Deleted the organization' : 'Removed you from the organization';
      return [build(user.id, 'membership.removed', { type: 'member', id: user.id }, message)];
    }
    default:
      return [];
  }
}
