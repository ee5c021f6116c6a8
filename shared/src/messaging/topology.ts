// The whole broker topology, declared by every service when it connects, so an event published
// before its consumer first starts waits in that consumer's queue.
import type { Channel } from 'amqplib';

export const EVENTS_EXCHANGE = 'taskflow.events';
export const DEAD_LETTER_EXCHANGE = 'taskflow.dead-letter';

export interface QueueSpec {
  name: string;
  /** Routing-key patterns (topic syntax) this queue receives. */
  bindings: string[];
}

/** One durable queue per consuming service. */
export const QUEUES = {
  audit: { name: 'audit', bindings: ['#'] },
  work: { name: 'work', bindings: ['tenancy.membership.*', 'tenancy.organization.*'] },
  tenancy: { name: 'tenancy', bindings: ['identity.user.*'] },
} as const satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof QUEUES;

export const deadLetterQueue = (queue: string) => `${queue}.dlq`;

export async function declareTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  for (const queue of Object.values(QUEUES) as QueueSpec[]) {
    await channel.assertQueue(deadLetterQueue(queue.name), { durable: true });
    await channel.bindQueue(deadLetterQueue(queue.name), DEAD_LETTER_EXCHANGE, queue.name);
    await channel.assertQueue(queue.name, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE, 'x-dead-letter-routing-key': queue.name },
    });
    for (const pattern of queue.bindings) await channel.bindQueue(queue.name, EVENTS_EXCHANGE, pattern);
  }
}
