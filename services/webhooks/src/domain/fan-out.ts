// A consumed event becomes one delivery per subscribed, enabled endpoint of its organization, in the
// consumer's transaction together with the inbox row: nothing lost, nothing doubled between the two.
import { type EventEnvelope, type Knex, verbOf } from '@taskflow/shared';
import { insertDeliveries } from '../db/deliveries';
import { subscribedEndpoints } from '../db/endpoints';
import { deliveryBodyOf } from './payload';

export async function queueDeliveries(trx: Knex.Transaction, event: EventEnvelope): Promise<number> {
  const body = deliveryBodyOf(event);
  if (!body) return 0;
  const targets = await subscribedEndpoints(trx, body.organization, verbOf(event.type));
  const text = JSON.stringify(body);
  return insertDeliveries(
    trx,
    targets.map((t) => ({ endpoint_id: t.id, organization_id: body.organization, event_id: event.id, event_type: body.type, body: text })),
  );
}
