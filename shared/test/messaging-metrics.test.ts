// The messaging metrics read real state: outbox backlog and age from PostgreSQL, queue and
// dead-letter depth from RabbitMQ, processing time from the consumer.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  Broker,
  createDb,
  createLogger,
  deadLetterQueue,
  EventConsumer,
  inboxMigration,
  MessagingMetrics,
  migrate,
  Outbox,
  outboxMigration,
  QUEUES,
} from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';

const logger = createLogger('messaging-metrics-test', 'silent');
const schema = 'svc';

async function value(metrics: MessagingMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l) && !('le' in v.labels))?.value;
}

describe('MessagingMetrics', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let db: Knex;
  let broker: Broker;

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    db = createDb({ url: database.url, schema });
    await migrate(db, schema, [outboxMigration, inboxMigration]);
    broker = await Broker.connect(vhost.url, logger);
  });

  afterAll(async () => {
    await broker.close();
    await db.destroy();
    await database.drop();
    await vhost.drop();
  });

  it('reports the unpublished outbox rows and the age of the oldest', async () => {
    const metrics = new MessagingMetrics();
    metrics.watchOutbox(db);
    expect(await value(metrics, 'taskflow_outbox_backlog')).toBe(0);
    expect(await value(metrics, 'taskflow_outbox_oldest_age_seconds')).toBe(0);
    const outbox = new Outbox(schema);
    await db.transaction((trx) => outbox.add(trx, ...[1, 2, 3].map(() => ({ type: 'identity.user.updated' as const, organization_id: null, actor: null, data: {} as never }))));
    await db('outbox').update({ created_at: db.raw("now() - interval '90 seconds'") }).whereIn('id', db('outbox').select('id').orderBy('seq').limit(1));
    await db('outbox').update({ published_at: db.fn.now() }).whereIn('id', db('outbox').select('id').orderBy('seq', 'desc').limit(1));
    expect(await value(metrics, 'taskflow_outbox_backlog')).toBe(2);
    const age = (await value(metrics, 'taskflow_outbox_oldest_age_seconds'))!;
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
  });

  it('reports a consumer queue\'s waiting and dead-lettered messages, and the processing time of what it applied', async () => {
    const queue = QUEUES.tenancy.name;
    const metrics = new MessagingMetrics();
    metrics.watchQueue(broker, queue);
    expect(await value(metrics, 'taskflow_queue_ready_messages', { queue })).toBe(0);
    expect(await value(metrics, 'taskflow_dead_letter_messages', { queue })).toBe(0);

    const publisher = await (await import('amqplib')).connect(vhost.url);
    const channel = await publisher.createChannel();
    const envelope = { id: randomUUID(), type: 'identity.user.updated', version: 1, occurred_at: new Date().toISOString(), organization_id: null, actor_id: null, actor_email: null, request_id: null, data: {} };
    channel.sendToQueue(queue, Buffer.from(JSON.stringify(envelope)));
    channel.sendToQueue(queue, Buffer.from('not json'));
    await eventually(async () => (await value(metrics, 'taskflow_queue_ready_messages', { queue })) === 2);

    const consumer = new EventConsumer({ broker, db, queue, handlers: {}, logger, metrics });
    await consumer.start();
    try {
      await eventually(async () => (await value(metrics, 'taskflow_dead_letter_messages', { queue })) === 1);
      expect(await value(metrics, 'taskflow_queue_ready_messages', { queue })).toBe(0);
      const histogram = await metrics.consumerProcessing.get();
      expect(histogram.values.find((v) => v.metricName === 'taskflow_consumer_processing_seconds_count' && v.labels.outcome === 'applied')?.value).toBe(1);
    } finally {
      await consumer.stop();
      await channel.purgeQueue(deadLetterQueue(queue));
      await publisher.close();
    }
  });
});
