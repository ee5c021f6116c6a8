// What a receiver gets for an event: API.md's body `{id, type, timestamp, organization, data: {actor,
// actor_email, target, changes, object}}`. `object` is the resource as far as the event carries it: the
// event payloads of shared/src/events.ts hold summaries (a project's id and name, a task's id, project and
// title), not every field the API returns, so `object` holds those fields and no more. Absent on deletes.
import { type AnyEvent, type Changes, EVENT_TYPES, type EventEnvelope, type EventType, verbOf } from '@taskflow/shared';
import { z } from 'zod';
import { PING_TYPE } from './model';

const guid = z.guid();
/** The `object` of each target type, as far as the events carry it; the builders below produce exactly these. */
export const OBJECT_SCHEMAS = {
  organization: z.object({ id: guid, name: z.string() }).meta({ id: 'WebhookOrganizationObject' }),
  member: z.object({ user: z.object({ id: guid, email: z.string(), first_name: z.string(), last_name: z.string() }), role: z.enum(['owner', 'admin', 'member']) }).meta({ id: 'WebhookMemberObject' }),
  invite: z.object({
    id: guid,
    organization: guid,
    organization_name: z.string(),
    email: z.string(),
    role: z.enum(['owner', 'admin', 'member']),
    status: z.enum(['pending', 'revoked', 'accepted']),
    expires_at: z.string(),
  }).meta({ id: 'WebhookInviteObject' }),
  project: z.object({ id: guid, organization: guid, name: z.string() }).meta({ id: 'WebhookProjectObject' }),
  task: z.object({ id: guid, organization: guid, project: guid, title: z.string() }).meta({ id: 'WebhookTaskObject' }),
  webhook: z.object({ id: guid, organization: guid, host: z.string(), description: z.string(), events: z.array(z.string()), enabled: z.boolean() }).meta({ id: 'WebhookEndpointObject' }),
} as const;
type ObjectOf<T extends keyof typeof OBJECT_SCHEMAS> = z.infer<(typeof OBJECT_SCHEMAS)[T]>;

/** Events outside any organization (identity's) reach no endpoint. */
const ORGANIZATION_LESS: readonly EventType[] = ['identity.user.registered', 'identity.user.updated'];

/** The verbs an endpoint may subscribe to: every event of an organization, as the activity log names it. */
export const SUBSCRIBABLE_VERBS: readonly string[] = EVENT_TYPES.filter((t) => !ORGANIZATION_LESS.includes(t)).map(verbOf);

export type TargetType = keyof typeof OBJECT_SCHEMAS;

export interface DeliveryData {
  actor: string | null;
  actor_email: string | null;
  target: { type: TargetType; id: string };
  changes: Changes;
  object?: Record<string, unknown>;
}

export interface DeliveryBody {
  id: string;
  type: string;
  timestamp: string;
  organization: string;
  data: DeliveryData;
}

/** target, changes and object of an event of an organization; undefined for the others. */
function subjectOf(event: AnyEvent): Omit<DeliveryData, 'actor' | 'actor_email'> | undefined {
  const org = event.organization_id!;
  switch (event.type) {
    case 'identity.user.registered':
    case 'identity.user.updated':
      return undefined;
    case 'tenancy.organization.created':
      return { target: { type: 'organization', id: event.data.organization.id }, changes: {}, object: { ...event.data.organization } satisfies ObjectOf<'organization'> };
    case 'tenancy.organization.renamed':
      return { target: { type: 'organization', id: event.data.organization.id }, changes: event.data.changes, object: { ...event.data.organization } satisfies ObjectOf<'organization'> };
    case 'tenancy.organization.deleted':
      return { target: { type: 'organization', id: event.data.organization.id }, changes: {} };
    case 'tenancy.membership.added':
    case 'tenancy.membership.role_changed': {
      const { user, role } = event.data;
      const changes = event.type === 'tenancy.membership.role_changed' ? event.data.changes : { role: [null, role] as [unknown, unknown] };
      return { target: { type: 'member', id: user.id }, changes, object: { user, role } satisfies ObjectOf<'member'> };
    }
    case 'tenancy.membership.removed':
      return { target: { type: 'member', id: event.data.user.id }, changes: { role: [event.data.role, null] } };
    case 'tenancy.invite.sent':
    case 'tenancy.invite.revoked':
    case 'tenancy.invite.accepted': {
      const { invite, organization } = event.data;
      const status = event.type === 'tenancy.invite.sent' ? 'pending' : event.type === 'tenancy.invite.revoked' ? 'revoked' : 'accepted';
      const changes: Changes = event.type === 'tenancy.invite.sent' ? { email: [null, invite.email], role: [null, invite.role] } : {};
      return {
        target: { type: 'invite', id: invite.id },
        changes,
        object: { id: invite.id, organization: organization.id, organization_name: organization.name, email: invite.email, role: invite.role, status, expires_at: invite.expires_at } satisfies ObjectOf<'invite'>,
      };
    }
    case 'work.project.created':
    case 'work.project.updated':
      return {
        target: { type: 'project', id: event.data.project.id },
        changes: event.type === 'work.project.updated' ? event.data.changes : {},
        object: { id: event.data.project.id, organization: org, name: event.data.project.name } satisfies ObjectOf<'project'>,
      };
    case 'work.project.deleted':
      return { target: { type: 'project', id: event.data.project.id }, changes: {} };
    case 'work.task.created':
    case 'work.task.updated': {
      const { task } = event.data;
      return {
        target: { type: 'task', id: task.id },
        changes: event.type === 'work.task.updated' ? event.data.changes : {},
        object: { id: task.id, organization: org, project: task.project_id, title: task.title } satisfies ObjectOf<'task'>,
      };
    }
    case 'work.task.deleted':
      return { target: { type: 'task', id: event.data.task.id }, changes: {} };
    case 'webhooks.endpoint.created':
    case 'webhooks.endpoint.updated':
    case 'webhooks.endpoint.secret_rotated':
    case 'webhooks.endpoint.disabled': {
      const { endpoint } = event.data;
      const changes = event.type === 'webhooks.endpoint.updated' ? event.data.changes : event.type === 'webhooks.endpoint.disabled' ? { enabled: [true, false] as [unknown, unknown] } : {};
      return { target: { type: 'webhook', id: endpoint.id }, changes, object: { ...endpoint, organization: org } satisfies ObjectOf<'webhook'> };
    }
    case 'webhooks.endpoint.deleted':
      return { target: { type: 'webhook', id: event.data.endpoint.id }, changes: {} };
  }
}

/** The body receivers get for `event`, or undefined when it belongs to no organization. */
export function deliveryBodyOf(event: EventEnvelope): DeliveryBody | undefined {
  if (!event.organization_id) return undefined;
  const subject = subjectOf(event as AnyEvent);
  if (!subject) return undefined;
  return {
    id: event.id,
    type: verbOf(event.type),
    timestamp: event.occurred_at,
    organization: event.organization_id,
    data: { actor: event.actor_id, actor_email: event.actor_email, ...subject },
  };
}

/** The body of a ping: its own id, no change. */
export function pingBody(id: string, organization: string, endpointId: string, actor: { id: string; email: string }): DeliveryBody {
  return {
    id,
    type: PING_TYPE,
    timestamp: new Date().toISOString(),
    organization,
    data: { actor: actor.id, actor_email: actor.email, target: { type: 'webhook', id: endpointId }, changes: {} },
  };
}
