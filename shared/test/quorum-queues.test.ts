import amqplib from 'amqplib';
import {
  Broker,
  createLogger,
  DEAD_LETTER_EXCHANGE,
  deadLetterQueue,
  EVENTS_EXCHANGE,
  migrateQueues,
  queueDeclarations,
} from '@taskflow/shared';
import { createTestVhost, testInfra, type TestVhost } from '@taskflow/shared/testing';

const logger = createLogger('quorum-test', 'silent');

/** The queue's type as the broker reports it. */
async function queueType(vhost: TestVhost, queue: string): Promise<string> {
  const { managementUrl, amqpUrl } = testInfra();
  const amqp = new URL(amqpUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(amqp.username || 'guest')}:${decodeURIComponent(amqp.password || 'guest')}`).toString('base64')}`;
  const res = await fetch(`${managementUrl}/api/queues/${encodeURIComponent(vhost.name)}/${encodeURIComponent(queue)}`, { headers: { authorization: auth } });
  if (!res.ok) return `missing (${res.status})`;
  return ((await res.json()) as { type: string }).type;
}

/** The topology as services declared it before quorum queues: classic queues with the same names and bindings. */
async function declareClassicTopology(url: string): Promise<void> {
  const connection = await amqplib.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  for (const queue of queueDeclarations()) {
    const { 'x-queue-type': _type, ...args } = queue.options.arguments as Record<string, unknown>;
    await channel.assertQueue(queue.name, { durable: true, arguments: args });
    for (const { exchange, pattern } of queue.bindings) await channel.bindQueue(queue.name, exchange, pattern);
  }
  await connection.close();
}

describe('quorum queues', () => {
  const vhosts: TestVhost[] = [];
  const freshVhost = async () => {
    const vhost = await createTestVhost();
    vhosts.push(vhost);
    return vhost;
  };

  afterAll(async () => {
    for (const vhost of vhosts) await vhost.drop();
  });

  it('declares every queue and dead-letter queue as a quorum queue', async () => {
    const vhost = await freshVhost();
    const broker = await Broker.connect(vhost.url, logger);
    await broker.close();
    for (const name of ['audit', 'work', 'tenancy', deadLetterQueue('audit'), deadLetterQueue('work'), deadLetterQueue('tenancy')]) {
      expect([name, await queueType(vhost, name)]).toEqual([name, 'quorum']);
    }
  });

  it('keeps a service running on a classic queue left by an older deployment', async () => {
    const vhost = await freshVhost();
    await declareClassicTopology(vhost.url);
    const broker = await Broker.connect(vhost.url, logger, { initialRetries: 0 });
    expect(broker.connected).toBe(true);
    await broker.close();
    expect(await queueType(vhost, 'audit')).toBe('classic');
  });

  it('moves classic queues over with their messages and bindings, once', async () => {
    const vhost = await freshVhost();
    await declareClassicTopology(vhost.url);
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < 5; i += 1) channel.publish(EVENTS_EXCHANGE, 'tenancy.membership.added', Buffer.from(`event ${i}`), { messageId: `m${i}`, persistent: true });
    channel.publish(DEAD_LETTER_EXCHANGE, 'audit', Buffer.from('dead'), { messageId: 'd1', persistent: true, headers: { 'x-taskflow-last-error': 'boom' } });
    await channel.waitForConfirms();

    const moved = await migrateQueues(vhost.url, logger);
    expect(moved).toEqual(
      expect.arrayContaining([
        { queue: 'audit', moved: 5 },
        { queue: 'work', moved: 5 },
        { queue: deadLetterQueue('audit'), moved: 1 },
        { queue: 'tenancy', moved: 0 },
      ]),
    );
    for (const queue of queueDeclarations()) expect([queue.name, await queueType(vhost, queue.name)]).toEqual([queue.name, 'quorum']);
    expect(await queueType(vhost, 'audit.migrating')).toBe('missing (404)');

    // Every message is there, in order, with its properties.
    const ids: string[] = [];
    for (;;) {
      const msg = await channel.get('work', { noAck: true });
      if (msg === false) break;
      ids.push(String(msg.properties.messageId));
    }
    expect(ids).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const dead = await channel.get(deadLetterQueue('audit'), { noAck: true });
    expect(dead && dead.properties.headers?.['x-taskflow-last-error']).toBe('boom');

    // The bindings came along: a new event reaches the migrated queue.
    channel.publish(EVENTS_EXCHANGE, 'tenancy.organization.deleted', Buffer.from('late'), { messageId: 'late', persistent: true });
    await channel.waitForConfirms();
    expect((await channel.checkQueue('work')).messageCount).toBe(1);

    // A second run finds nothing to do.
    expect(await migrateQueues(vhost.url, logger)).toEqual([]);
    await connection.close();
  });

  it('refuses to migrate a queue that still has consumers', async () => {
    const vhost = await freshVhost();
    await declareClassicTopology(vhost.url);
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createChannel();
    await channel.consume('audit', () => undefined);
    await expect(migrateQueues(vhost.url, logger)).rejects.toThrow('queue audit has 1 consumer(s)');
    await connection.close();
  });
});
