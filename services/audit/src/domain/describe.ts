// What an event means to a reader of the activity log: its verb, the sentence shown for it and
// what it touched. Pure: one event in, one description out.
import { type AnyEvent, type Changes, type EventType, verbOf } from '@taskflow/shared';

export type { AnyEvent };

export type TargetType = 'user' | 'organization' | 'member' | 'invite' | 'project' | 'task' | 'webhook';

export interface EventDescription {
  /** The event type without its service prefix: `work.task.updated` -> `task.updated`. */
  verb: string;
  /** The sentence shown to owners and admins. */
  action: string;
  /** The sentence shown to plain members: the same, without invitee email addresses. */
  memberAction: string;
  target: { type: TargetType; id: string };
  /** Changed fields as `[old, new]`; creations of invites carry the invitee as `email: [null, address]`. */
  changes: Changes;
}

const quoted = (text: string) => `'${text}'`;

function same(verbType: EventType, action: string, target: EventDescription['target'], changes: Changes = {}): EventDescription {
  return { verb: verbOf(verbType), action, memberAction: action, target, changes };
}

export function describeEvent(event: AnyEvent): EventDescription {
  switch (event.type) {
    case 'identity.user.registered':
      return same(event.type, 'Registered an account', { type: 'user', id: event.data.user.id });
    case 'identity.user.updated':
      return same(event.type, 'Updated their profile', { type: 'user', id: event.data.user.id });

    case 'tenancy.organization.created':
      return same(event.type, 'Created organization', { type: 'organization', id: event.data.organization.id });
    case 'tenancy.organization.renamed':
      return same(
        event.type,
        `Renamed organization to ${quoted(event.data.organization.name)}`,
        { type: 'organization', id: event.data.organization.id },
        event.data.changes,
      );
    case 'tenancy.organization.deleted':
      return same(event.type, 'Deleted organization', { type: 'organization', id: event.data.organization.id });

    case 'tenancy.membership.added': {
      const { user, role } = event.data;
      const action = event.actor_id === user.id ? `Joined organization as ${role}` : `Added ${user.email} to organization as ${role}`;
      return same(event.type, action, { type: 'member', id: user.id }, { role: [null, role] });
    }
    case 'tenancy.membership.role_changed': {
      const { user, changes } = event.data;
      const [from, to] = changes.role;
      return same(event.type, `Changed role of ${user.email} from ${from} to ${to}`, { type: 'member', id: user.id }, changes);
    }
    case 'tenancy.membership.removed': {
      const { user, role, reason } = event.data;
      const action =
        reason === 'left'
          ? 'Left organization'
          : reason === 'organization_deleted'
            ? `Removed ${user.email} from organization (organization deleted)`
            : `Removed ${user.email} from organization`;
      return same(event.type, action, { type: 'member', id: user.id }, { role: [role, null] });
    }

    case 'tenancy.invite.sent': {
      const { invite } = event.data;
      return {
        verb: verbOf(event.type),
        action: `Invited ${invite.email} to organization`,
        memberAction: 'Invited someone to organization',
        target: { type: 'invite', id: invite.id },
        changes: { email: [null, invite.email], role: [null, invite.role] },
      };
    }
    case 'tenancy.invite.revoked': {
      const { invite } = event.data;
      return {
        verb: verbOf(event.type),
        action: `Revoked invite for ${invite.email}`,
        memberAction: 'Revoked invite for someone',
        target: { type: 'invite', id: invite.id },
        changes: {},
      };
    }
    case 'tenancy.invite.accepted':
      return same(event.type, 'Accepted organization invite', { type: 'invite', id: event.data.invite.id });

    case 'work.project.created':
      return same(event.type, `Created project ${quoted(event.data.project.name)}`, { type: 'project', id: event.data.project.id });
    case 'work.project.updated':
      return same(event.type, `Updated project ${quoted(event.data.project.name)}`, { type: 'project', id: event.data.project.id }, event.data.changes);
    case 'work.project.deleted':
      return same(event.type, `Deleted project ${quoted(event.data.project.name)}`, { type: 'project', id: event.data.project.id });

    case 'work.task.created':
      return same(event.type, `Created task ${quoted(event.data.task.title)}`, { type: 'task', id: event.data.task.id });
    case 'work.task.updated':
      return same(event.type, `Updated task ${quoted(event.data.task.title)}`, { type: 'task', id: event.data.task.id }, event.data.changes);
    case 'work.task.deleted':
      return same(event.type, `Deleted task ${quoted(event.data.task.title)}`, { type: 'task', id: event.data.task.id });

    case 'webhooks.endpoint.created':
      return same(event.type, `Created webhook to ${event.data.endpoint.host}`, { type: 'webhook', id: event.data.endpoint.id });
    case 'webhooks.endpoint.updated':
      return same(event.type, `Updated webhook to ${event.data.endpoint.host}`, { type: 'webhook', id: event.data.endpoint.id }, event.data.changes);
    case 'webhooks.endpoint.deleted':
      return same(event.type, `Deleted webhook to ${event.data.endpoint.host}`, { type: 'webhook', id: event.data.endpoint.id });
    case 'webhooks.endpoint.secret_rotated':
      return same(event.type, `Rotated the secret of webhook to ${event.data.endpoint.host}`, { type: 'webhook', id: event.data.endpoint.id });
    case 'webhooks.endpoint.disabled': {
      const why = event.data.reason === 'gone' ? 'the receiver answered 410 Gone' : 'its deliveries kept failing';
      return same(event.type, `Disabled webhook to ${event.data.endpoint.host}: ${why}`, { type: 'webhook', id: event.data.endpoint.id }, { enabled: [true, false] });
    }

    default:
      return unreachable(event);
  }
}

function unreachable(event: never): never {
  throw new Error(`No description for event type ${(event as { type: string }).type}`);
}
