// A test's window on the event exchange: it records what the service under test publishes, and publishes
// events as another service would (what a consumer receives from tenancy, identity, work...).
import { randomUUID } from 'node:crypto';
import type { Channel } from 'amqplib';
import type { EventEnvelope, EventPayloads, EventType } from '../events';
import { EVENTS_EXCHANGE } from '../messaging/topology';

export interface EventTap {
  /** Every event published under the pattern since the tap opened, in arrival order. */
  events: EventEnvelope[];
  /** Publishes one event (persistent, as the relay does); returns its id. */
  publish<T extends EventType>(type: T, organizationId: string | null, data: EventPayloads[T], actor?: { id: string; email: string }, id?: string): Promise<string>;
}

/** Opens a tap on `channel`: an exclusive queue bound to `pattern` (e.g. `work.#`) records what arrives. */
export async function openEventTap(channel: Channel, pattern: string): Promise<EventTap> {
  const events: EventEnvelope[] = [];
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, pattern);
  await channel.consume(queue, (msg) => {
    if (msg) events.push(JSON.parse(msg.content.toString('utf8')) as EventEnvelope);
  }, { noAck: true });
  return {
    events,
    async publish(type, organizationId, data, actor, id = randomUUID()) {
      const envelope: EventEnvelope<typeof type> = {
        id,
        type,
        version: 1,
        occurred_at: new Date().toISOString(),
        organization_id: organizationId,
        actor_id: actor?.id ?? null,
        actor_email: actor?.email ?? null,
        request_id: `test-${randomUUID()}`,
        data,
      };
      channel.publish(EVENTS_EXCHANGE, type, Buffer.from(JSON.stringify(envelope)), { messageId: envelope.id, persistent: true, contentType: 'application/json' });
      return envelope.id;
    },
  };
}
