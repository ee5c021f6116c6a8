// The event envelope and one declared payload type per event type (types only, no business rules).
import { z } from 'zod';

export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().regex(/^[a-z]+\.[a-z_]+\.[a-z_]+$/),
  version: z.number().int().positive(),
  occurred_at: z.iso.datetime(),
  organization_id: z.uuid().nullable(),
  actor_id: z.uuid().nullable(),
  actor_email: z.string().nullable(),
  request_id: z.string().nullable(),
  /**
   * W3C trace context of the span that recorded (then published) the event; absent in envelopes written
   * without tracing. A malformed one is dropped, never a reason to dead-letter the event.
   */
  trace_context: z
    .object({ traceparent: z.string().max(128), tracestate: z.string().max(512).optional() })
    .optional()
    .catch(undefined),
  data: z.record(z.string(), z.unknown()),
});

export type Role = 'owner' | 'admin' | 'member';

export interface UserSummary {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
}

/** Payloads by event type. Every published event type is declared here. */
export interface EventPayloads {
  /** `email_verified`: whether the user proved the address (identity always sends it; absent = false). */
  'identity.user.registered': { user: UserSummary; date_joined: string; email_verified?: boolean };
  'identity.user.updated': { user: UserSummary; version: number; email_verified?: boolean };
  'tenancy.organization.created': { organization: { id: string; name: string } };
  'tenancy.organization.renamed': { organization: { id: string; name: string }; changes: { name: [string, string] } };
  'tenancy.organization.deleted': { organization: { id: string; name: string } };
  'tenancy.membership.added': MembershipPayload;
  'tenancy.membership.role_changed': MembershipPayload & { changes: { role: [Role, Role] } };
  'tenancy.membership.removed': MembershipPayload & { reason: 'removed' | 'left' | 'organization_deleted' };
  /** The accept token never travels on the broker: tenancy mails it from its own mail outbox. */
  'tenancy.invite.sent': InvitePayload;
  'tenancy.invite.revoked': InvitePayload;
  'tenancy.invite.accepted': InvitePayload;
  'work.project.created': { project: ProjectSummary };
  'work.project.updated': { project: ProjectSummary; changes: Changes };
  'work.project.deleted': { project: ProjectSummary };
  'work.task.created': { task: TaskSummary };
  'work.task.updated': { task: TaskSummary; changes: Changes };
  'work.task.deleted': { task: TaskSummary };
  'webhooks.endpoint.created': { endpoint: WebhookEndpointSummary };
  'webhooks.endpoint.updated': { endpoint: WebhookEndpointSummary; changes: Changes };
  'webhooks.endpoint.deleted': { endpoint: WebhookEndpointSummary };
  'webhooks.endpoint.secret_rotated': { endpoint: WebhookEndpointSummary };
  /** Disabled by the service itself: the receiver answered 410 (`gone`), or every delivery failed for days (`failing`). */
  'webhooks.endpoint.disabled': { endpoint: WebhookEndpointSummary; reason: 'gone' | 'failing' };
}

/** Every declared event type, at run time (the record's type makes the list complete). */
const EVENT_TYPE_RECORD: Record<keyof EventPayloads, true> = {
  'identity.user.registered': true,
  'identity.user.updated': true,
  'tenancy.organization.created': true,
  'tenancy.organization.renamed': true,
  'tenancy.organization.deleted': true,
  'tenancy.membership.added': true,
  'tenancy.membership.role_changed': true,
  'tenancy.membership.removed': true,
  'tenancy.invite.sent': true,
  'tenancy.invite.revoked': true,
  'tenancy.invite.accepted': true,
  'work.project.created': true,
  'work.project.updated': true,
  'work.project.deleted': true,
  'work.task.created': true,
  'work.task.updated': true,
  'work.task.deleted': true,
  'webhooks.endpoint.created': true,
  'webhooks.endpoint.updated': true,
  'webhooks.endpoint.deleted': true,
  'webhooks.endpoint.secret_rotated': true,
  'webhooks.endpoint.disabled': true,
};
export const EVENT_TYPES = Object.keys(EVENT_TYPE_RECORD) as EventType[];

/** The activity verb of an event type: the type without its service prefix (`work.task.updated` -> `task.updated`). */
export const verbOf = (type: string): string => type.slice(type.indexOf('.') + 1);

export type Changes = Record<string, [unknown, unknown]>;

export interface MembershipPayload {
  organization_id: string;
  user: UserSummary;
  /** The role after the change (for `removed`, the role the member had). */
  role: Role;
  /** Increases with every change of this membership; replicas keep the highest. */
  version: number;
}

export interface InvitePayload {
  invite: { id: string; email: string; role: Role; expires_at: string };
  organization: { id: string; name: string };
}

export interface ProjectSummary {
  id: string;
  name: string;
}

export interface TaskSummary {
  id: string;
  project_id: string;
  title: string;
  /** The assignee after the change; absent in events published before it was added (audit notifies from it). */
  assigned_to?: string | null;
}

/**
 * A webhook endpoint as events describe it: never its full URL (a path or query may hold the receiver's
 * credentials, and every member reads the activity log), only its host.
 */
export interface WebhookEndpointSummary {
  id: string;
  host: string;
  description: string;
  events: string[];
  enabled: boolean;
}

export type EventType = keyof EventPayloads;

/** Any one event, narrowed by `type` (EventEnvelope<EventType> alone does not narrow). */
export type AnyEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurred_at: string;
  organization_id: string | null;
  actor_id: string | null;
  actor_email: string | null;
  request_id: string | null;
  /** Present only when the event was recorded inside a trace (see `envelopeSchema`). */
  trace_context?: { traceparent: string; tracestate?: string };
  data: EventPayloads[T];
}

/** What a service supplies when it records an event; the rest of the envelope is filled in. */
export interface NewEvent<T extends EventType = EventType> {
  type: T;
  organization_id: string | null;
  actor: { id: string; email: string } | null;
  data: EventPayloads[T];
}
