// What webhooks does with each event it consumes (queue `webhooks`, bound to every event type). Each runs
// in the consumer's transaction together with the inbox row.
import { applyMembershipEvent, EVENT_TYPES, type EventEnvelope, type EventHandler, type EventHandlers, type Knex } from '@taskflow/shared';
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

const deliver: EventHandler = (trx, event) => queueDeliveries(trx, event).then(() => undefined);

/** Every event type is delivered; a few also feed this service's own state. */
export const webhooksEventHandlers: EventHandlers = {
  ...Object.fromEntries(EVENT_TYPES.map((type) => [type, deliver])),
  'tenancy.membership.added': recordMembership,
  'tenancy.membership.role_changed': recordMembership,
  'tenancy.membership.removed': recordMembership,
  'identity.user.updated': recordAddress,
  'tenancy.organization.deleted': forgetOrganization,
};
