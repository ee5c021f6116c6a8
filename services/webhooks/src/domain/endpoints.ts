// Endpoint use cases, each `(deps, actor, input)`: scoped by the caller's memberships (another
// organization's endpoint is 404), then policy.ts (owners and admins), then one transaction (joined by an
// Idempotency-Key's, see `idempotent`) for the rows and the outbox event.
import { randomUUID } from 'node:crypto';
import { currentDb, type IfMatch, inTransaction, type KeyValue, notFound, requireIfMatch, validationFailed } from '@taskflow/shared';
import * as deliveries from '../db/deliveries';
import * as endpoints from '../db/endpoints';
import { changesBetween, endpointCreated, endpointDeleted, endpointSecretRotated, endpointUpdated } from './events';
import type { Actor, Delivery, DeliveryStatus, Endpoint, WebhooksDeps } from './model';
import { pingBody } from './payload';
import { authorize, type WebhookAction } from './policy';
import { newSecret } from './secrets';

export interface EndpointInput {
  organization: string;
  url: string;
  events: string[];
  description: string;
}

export type EndpointChanges = Partial<{ url: string; events: string[]; description: string; enabled: boolean }>;

/** The endpoint's organization if the caller belongs to it and may do `action` there; 404 / 403 otherwise. */
async function endpointScope(deps: WebhooksDeps, actor: Actor, id: string, action: WebhookAction): Promise<string> {
  const organization = await endpoints.endpointOrganization(currentDb(deps.db), id);
  if (!organization) throw notFound();
  const role = await deps.replica.requireRole(actor.id, organization);
  authorize(role, action);
  return organization;
}

async function requireSafeUrl(deps: WebhooksDeps, url: string): Promise<void> {
  const problem = await deps.urls.problemWith(url);
  if (problem) throw validationFailed({ url: [problem] });
}

/** Creates an endpoint; the secret is in the answer only (stored encrypted). */
export async function createEndpoint(deps: WebhooksDeps, actor: Actor, input: EndpointInput): Promise<{ endpoint: Endpoint; secret: string }> {
  // An organization the caller does not belong to is reported like one that does not exist.
  const role = await deps.replica.roleOf(actor.id, input.organization);
  if (!role) throw validationFailed({ organization: ['Organization not found.'] });
  authorize(role, 'webhook.create');
  await requireSafeUrl(deps, input.url);
  const secret = newSecret();
  return inTransaction(deps.db, async (trx) => {
    const endpoint = await endpoints.insertEndpoint(trx, {
      organization_id: input.organization,
      url: input.url,
      events: input.events,
      description: input.description,
      secret_encrypted: deps.secrets.seal(secret),
    });
    await deps.outbox.add(trx, endpointCreated(endpoint, actor));
    return { endpoint, secret };
  });
}

export async function listEndpoints(deps: WebhooksDeps, actor: Actor, input: { organization: string; after?: readonly [KeyValue, string]; limit: number }): Promise<Endpoint[]> {
  const role = await deps.replica.requireRole(actor.id, input.organization);
  authorize(role, 'webhook.list');
  return endpoints.listEndpoints(deps.db, input.organization, input.after, input.limit);
}

export async function getEndpoint(deps: WebhooksDeps, actor: Actor, input: { id: string }): Promise<Endpoint> {
  const organization = await endpointScope(deps, actor, input.id, 'webhook.view');
  const endpoint = await endpoints.findEndpoint(deps.db, input.id, organization);
  if (!endpoint) throw notFound();
  return endpoint;
}

/** PATCH: `changes` holds the fields sent. Enabling again clears the reason and the failure clock. */
export async function updateEndpoint(deps: WebhooksDeps, actor: Actor, input: { id: string; changes: EndpointChanges; ifMatch?: IfMatch }): Promise<Endpoint> {
  const organization = await endpointScope(deps, actor, input.id, 'webhook.update');
  if (input.changes.url !== undefined) await requireSafeUrl(deps, input.changes.url);
  return inTransaction(deps.db, async (trx) => {
    const current = await endpoints.findEndpoint(trx, input.id, organization, { lock: true });
    if (!current) throw notFound();
    requireIfMatch(input.ifMatch, current.version);
    const diff = changesBetween(current, input.changes);
    if (Object.keys(diff).length === 0) return current;
    const reenabled = input.changes.enabled === true && !current.enabled;
    const updated = await endpoints.updateEndpoint(trx, input.id, {
      ...input.changes,
      ...(reenabled ? { disabled_reason: null, failing_since: null } : {}),
      ...(input.changes.enabled === false && current.enabled ? { disabled_reason: 'disabled by a user' } : {}),
    });
    await deps.outbox.add(trx, endpointUpdated(updated, diff, actor));
    if (reenabled) deps.wakeDeliveries();
    return updated;
  });
}

export async function deleteEndpoint(deps: WebhooksDeps, actor: Actor, input: { id: string; ifMatch?: IfMatch }): Promise<void> {
  const organization = await endpointScope(deps, actor, input.id, 'webhook.delete');
  await inTransaction(deps.db, async (trx) => {
    const current = await endpoints.findEndpoint(trx, input.id, organization, { lock: true });
    if (!current) throw notFound();
    requireIfMatch(input.ifMatch, current.version);
    await endpoints.deleteEndpointRow(trx, input.id);
    await deps.outbox.add(trx, endpointDeleted(current, actor));
  });
}

/** A new secret; the one it replaces keeps signing alongside for the overlap (a rotation during an overlap drops the oldest). */
export async function rotateSecret(deps: WebhooksDeps, actor: Actor, input: { id: string }): Promise<{ secret: string }> {
  const organization = await endpointScope(deps, actor, input.id, 'webhook.rotate_secret');
  const secret = newSecret();
  return inTransaction(deps.db, async (trx) => {
    const current = await endpoints.findEndpoint(trx, input.id, organization, { lock: true });
    if (!current) throw notFound();
    const stored = await endpoints.endpointSecrets(trx, input.id);
    const updated = await endpoints.updateEndpoint(trx, input.id, {
      secret_encrypted: deps.secrets.seal(secret),
      previous_secret_encrypted: stored!.secret_encrypted,
      previous_secret_expires_at: new Date(Date.now() + deps.rotationOverlapSeconds * 1000),
    });
    await deps.outbox.add(trx, endpointSecretRotated(updated, actor));
    return { secret };
  });
}

/** Queues a `webhook.ping` delivery, due now. */
export async function pingEndpoint(deps: WebhooksDeps, actor: Actor, input: { id: string }): Promise<void> {
  const organization = await endpointScope(deps, actor, input.id, 'webhook.ping');
  const id = randomUUID();
  const body = pingBody(id, organization, input.id, actor);
  await inTransaction(deps.db, async (trx) => {
    await deliveries.insertDeliveries(trx, [{ endpoint_id: input.id, organization_id: organization, event_id: id, event_type: body.type, body: JSON.stringify(body) }]);
  });
  deps.wakeDeliveries();
}

export async function listDeliveries(
  deps: WebhooksDeps,
  actor: Actor,
  input: { id: string; status?: DeliveryStatus; after?: readonly [KeyValue, string]; limit: number },
): Promise<Delivery[]> {
  await endpointScope(deps, actor, input.id, 'webhook.list_deliveries');
  return deliveries.listDeliveries(deps.db, input.id, input.status, input.after, input.limit);
}

/** Makes the delivery due now, whatever its state (a succeeded one is sent again too). */
export async function retryDelivery(deps: WebhooksDeps, actor: Actor, input: { id: string; deliveryId: string }): Promise<void> {
  await endpointScope(deps, actor, input.id, 'webhook.retry_delivery');
  const found = await inTransaction(deps.db, (trx) => deliveries.scheduleNow(trx, input.id, input.deliveryId));
  if (!found) throw notFound();
  deps.wakeDeliveries();
}
