// What webhooks does with each event it consumes (queue `webhooks`, bound to every event type). Each runs
// in the consumer's transaction together with the inbox row.
import { applyMembershipEvent, type EventEnvelope, type Knex, type QueueHandlers } from '@taskflow/shared';
import { storeAddress } from '../db/addresses';
import { deleteEndpointsOfOrganization } from '../db/endpoints';
import { queueDeliveries } from '../domain/fan-out';

type MembershipType = 'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed';

/** Keeps the membership replica (who manages which organization's webhooks) and owners' addresses current. */
async function recordMembership(trx: Knex.Transaction, event: EventEnvelope<MembershipType>): Promise<void> {
  await applyMembershipEvent(trx, event);
  await storeAddress(trx, event.data.user.id, event.data.user.email);
  await queueDeliveries(trx, event);
}

async function recordAddress(trx: Knex.Transaction, event: EventEnvelope<'identity.user.updated'>): Promise<void> {
  await storeAddress(trx, event.data.user.id, event.data.user.email);
}

/** An organization's endpoints and their deliveries go with the rest of its data (its deletion itself reaches no endpoint: none is left). */
async function forgetOrganization(trx: Knex.Transaction, event: EventEnvelope<'tenancy.organization.deleted'>): Promise<void> {
  await deleteEndpointsOfOrganization(trx, event.data.organization.id);
}

const deliver = (trx: Knex.Transaction, event: EventEnvelope): Promise<void> => queueDeliveries(trx, event).then(() => undefined);

/** Every event type (queue `webhooks` is bound to '#'; the type makes a missing one a compile error): delivered, and a few also feed this service's own state. */
export const webhooksEventHandlers: QueueHandlers<'webhooks'> = {
  // Outside any organization: no endpoint receives it; only a changed email address matters here.
  'identity.user.registered': async () => undefined,
  'identity.user.updated': recordAddress,
  'tenancy.organization.created': deliver,
  'tenancy.organization.renamed': deliver,
  'tenancy.organization.deleted': forgetOrganization,
  'tenancy.membership.added': recordMembership,
  'tenancy.membership.role_changed': recordMembership,
  'tenancy.membership.removed': recordMembership,
  'tenancy.invite.sent': deliver,
  'tenancy.invite.revoked': deliver,
  'tenancy.invite.accepted': deliver,
  'work.project.created': deliver,
  'work.project.updated': deliver,
  'work.project.deleted': deliver,
  'work.task.created': deliver,
  'work.task.updated': deliver,
  'work.task.deleted': deliver,
  'webhooks.endpoint.created': deliver,
  'webhooks.endpoint.updated': deliver,
  'webhooks.endpoint.deleted': deliver,
  'webhooks.endpoint.secret_rotated': deliver,
  'webhooks.endpoint.disabled': deliver,
};
