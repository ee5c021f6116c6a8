// The webhooks.endpoint.* events this service publishes, built from endpoints; written to the outbox in the caller's transaction.
import type { Changes, NewEvent, WebhookEndpointSummary } from '@taskflow/shared';
import type { Actor, Endpoint } from './model';

/** Only the host: a URL's path or query may hold the receiver's credentials, and every member reads the activity log. */
export const hostOf = (url: string): string => new URL(url).host;

const summary = (e: Endpoint): WebhookEndpointSummary => ({ id: e.id, host: hostOf(e.url), description: e.description, events: e.events, enabled: e.enabled });
const actorOf = (actor: Actor | null) => (actor ? { id: actor.id, email: actor.email } : null);

export const endpointCreated = (e: Endpoint, actor: Actor): NewEvent<'webhooks.endpoint.created'> => ({
  type: 'webhooks.endpoint.created',
  organization_id: e.organization,
  actor: actorOf(actor),
  data: { endpoint: summary(e) },
});

export const endpointUpdated = (e: Endpoint, changes: Changes, actor: Actor): NewEvent<'webhooks.endpoint.updated'> => ({
  type: 'webhooks.endpoint.updated',
  organization_id: e.organization,
  actor: actorOf(actor),
  data: { endpoint: summary(e), changes },
});

export const endpointDeleted = (e: Endpoint, actor: Actor): NewEvent<'webhooks.endpoint.deleted'> => ({
  type: 'webhooks.endpoint.deleted',
  organization_id: e.organization,
  actor: actorOf(actor),
  data: { endpoint: summary(e) },
});

export const endpointSecretRotated = (e: Endpoint, actor: Actor): NewEvent<'webhooks.endpoint.secret_rotated'> => ({
  type: 'webhooks.endpoint.secret_rotated',
  organization_id: e.organization,
  actor: actorOf(actor),
  data: { endpoint: summary(e) },
});

export const endpointDisabled = (e: Endpoint, reason: 'gone' | 'failing'): NewEvent<'webhooks.endpoint.disabled'> => ({
  type: 'webhooks.endpoint.disabled',
  organization_id: e.organization,
  actor: null,
  data: { endpoint: summary(e), reason },
});

/** `{field: [old, new]}` for each field of `next` that differs from `current` (URLs as hosts only, see above). */
export function changesBetween(current: Endpoint, next: Partial<Pick<Endpoint, 'url' | 'events' | 'description' | 'enabled'>>): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(next) as Array<[keyof typeof next, unknown]>) {
    if (value === undefined) continue;
    const old = current[field];
    if (JSON.stringify(old) === JSON.stringify(value)) continue;
    changes[field] = field === 'url' ? [hostOf(old as string), hostOf(value as string)] : [old, value];
  }
  return changes;
}
