// The whole broker topology, declared by every service when it connects, so an event published
// before its consumer first starts waits in that consumer's queue. Every queue is a quorum queue:
// replicated when RabbitMQ runs as a cluster, and equally correct on one node.
import type { Channel, ChannelModel, Options } from 'amqplib';
import type { EventType } from '../events';
import type { Logger } from '../logging';

export const EVENTS_EXCHANGE = 'taskflow.events';
export const DEAD_LETTER_EXCHANGE = 'taskflow.dead-letter';

export interface QueueSpec {
  name: string;
  /**
   * The event types this queue is bound to: exactly the keys of its service's handler map
   * (`QueueHandlers<Q>` makes a missing or an extra handler a compile error), or '#' for every event.
   */
  events: readonly EventType[] | '#';
}

/** One durable queue per consuming service. */
export const QUEUES = {
  // Audit records every event, so its handler map must cover every declared event type.
  audit: { name: 'audit', events: '#' },
  work: {
    name: 'work',
    events: ['tenancy.membership.added', 'tenancy.membership.role_changed', 'tenancy.membership.removed', 'tenancy.organization.deleted'],
  },
  tenancy: { name: 'tenancy', events: ['identity.user.registered', 'identity.user.updated'] },
  // Webhooks delivers every event of an organization and keeps its replica from the membership events.
  webhooks: { name: 'webhooks', events: '#' },
} as const satisfies Record<string, QueueSpec>;

export type QueueName = keyof typeof QUEUES;

/** The event types queue `Q` receives. */
export type QueueEvents<Q extends QueueName> = (typeof QUEUES)[Q]['events'] extends readonly (infer T extends EventType)[] ? T : EventType;

/** The routing keys a queue is bound with: its event types, or '#'. */
export const queueBindings = (queue: QueueSpec): string[] => (queue.events === '#' ? ['#'] : [...queue.events]);

export const deadLetterQueue = (queue: string) => `${queue}.dlq`;

/** A queue as declared: its arguments and where it is bound. */
export interface QueueDeclaration {
  name: string;
  options: Options.AssertQueue;
  bindings: Array<{ exchange: string; pattern: string }>;
}

const QUORUM = { 'x-queue-type': 'quorum' };

/** Every queue of the topology, dead-letter queues first (a queue's dead letters need somewhere to go). */
export function queueDeclarations(): QueueDeclaration[] {
  return (Object.values(QUEUES) as QueueSpec[]).flatMap((queue) => [
    {
      name: deadLetterQueue(queue.name),
      options: { durable: true, arguments: { ...QUORUM } },
      bindings: [{ exchange: DEAD_LETTER_EXCHANGE, pattern: queue.name }],
    },
    {
      name: queue.name,
      options: {
        durable: true,
        arguments: { ...QUORUM, 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE, 'x-dead-letter-routing-key': queue.name },
      },
      bindings: queueBindings(queue).map((pattern) => ({ exchange: EVENTS_EXCHANGE, pattern })),
    },
  ]);
}

export async function declareExchanges(channel: Channel): Promise<void> {
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
}

/** PRECONDITION_FAILED: the queue exists with other arguments (a classic queue from before quorum queues). */
const isInequivalent = (err: unknown) => (err as { code?: number }).code === 406;

/**
 * Declares exchanges, queues and bindings. A queue that still exists as a classic queue (a deployment
 * from before quorum queues; a queue cannot change type in place) is used as it is, with a warning that
 * names the command that moves it over (`npm run migrate:queues`), so a rolling upgrade keeps consuming.
 */
export async function declareTopology(model: ChannelModel, logger?: Logger): Promise<void> {
  let channel = await model.createChannel();
  channel.on('error', () => undefined);
  await declareExchanges(channel);
  for (const queue of queueDeclarations()) {
    try {
      await channel.assertQueue(queue.name, queue.options);
    } catch (err) {
      if (!isInequivalent(err)) throw err;
      logger?.warn({ queue: queue.name }, 'queue exists with other arguments (a classic queue?); using it as it is: run `npm run migrate:queues` to move it to a quorum queue');
      channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.checkQueue(queue.name);
    }
    for (const { exchange, pattern } of queue.bindings) await channel.bindQueue(queue.name, exchange, pattern);
  }
  await channel.close();
}
