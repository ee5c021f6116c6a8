import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import type { Knex } from 'knex';
import {
  Broker,
  createDb,
  createLogger,
  deadLetterQueue,
  EVENTS_EXCHANGE,
  EventConsumer,
  inboxMigration,
  migrate,
  Outbox,
  OutboxRelay,
  outboxMigration,
  type NewEvent,
} from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually, testInfra, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';

const logger = createLogger('messaging-test', 'silent');
const schema = 'svc';

const userEvent = (n: number): NewEvent<'identity.user.registered'> => ({
  type: 'identity.user.registered',
  organization_id: null,
  actor: null,
  data: { user: { id: randomUUID(), email: `u${n}@example.com`, first_name: 'U', last_name: String(n) }, date_joined: new Date().toISOString() },
});

describe('outbox, relay and consumer', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let db: Knex;
  let broker: Broker;
  let consumer: EventConsumer;
  const outbox = new Outbox(schema);
  const relays: OutboxRelay[] = [];
  let handlerFailures = new Map<string, number>();

  const effects = async () => (await db('effects').select('event_id')).map((r: { event_id: string }) => r.event_id);
  const startRelay = async () => {
    const relay = new OutboxRelay({ db, databaseUrl: database.url, outbox, broker, logger, batchSize: 50, pollIntervalMs: 200 });
    await relay.start();
    relays.push(relay);
    return relay;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    db = createDb({ url: database.url, schema });
    await migrate(db, schema, [
      outboxMigration,
      inboxMigration,
      { name: '001_effects', up: (k) => k.schema.createTable('effects', (t) => { t.uuid('event_id'); t.text('type'); }) },
    ]);
    broker = await Broker.connect(vhost.url, logger);
    // The audit queue receives every event; this consumer stands in for the audit service.
    consumer = new EventConsumer({
      broker,
      db,
      queue: 'audit',
      logger,
      retryDelayMs: 10,
      maxAttempts: 3,
      handlers: {
        'identity.user.registered': async (trx, event) => {
          const failuresLeft = handlerFailures.get(event.data.user.email) ?? 0;
          if (failuresLeft > 0) {
            handlerFailures.set(event.data.user.email, failuresLeft - 1);
            throw new Error('transient');
          }
          await trx('effects').insert({ event_id: event.id, type: event.type });
        },
      },
    });
    await consumer.start();
  });

  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    await consumer.stop();
    await broker.close();
    await db.destroy();
    await database.drop();
    await vhost.drop();
  });

  beforeEach(async () => {
    handlerFailures = new Map();
    await db('effects').delete();
  });

  it('publishes nothing for a rolled-back transaction and exactly once for a committed one', async () => {
    await startRelay();
    const rolledBack = await db
      .transaction(async (trx) => {
        await outbox.add(trx, userEvent(1));
        throw new Error('rollback');
      })
      .catch(() => 'rolled back');
    expect(rolledBack).toBe('rolled back');
    const [committed] = await db.transaction((trx) => outbox.add(trx, userEvent(2)));
    await eventually(async () => (await effects()).length === 1);
    expect(await effects()).toEqual([committed!.id]);
    const row = await db('outbox').where({ id: committed!.id }).first();
    expect(row.published_at).not.toBeNull();
    expect(await db('outbox').count({ n: '*' }).first()).toEqual({ n: '1' });
  });

  it('shares one outbox between two relays and publishes every row once', async () => {
    await startRelay();
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch += 1) {
      const envelopes = await db.transaction((trx) => outbox.add(trx, ...Array.from({ length: 30 }, (_, i) => userEvent(batch * 30 + i))));
      ids.push(...envelopes.map((e) => e.id));
    }
    await eventually(async () => (await effects()).length >= ids.length, 15000);
    const seen = await effects();
    expect(seen.sort()).toEqual([...ids].sort());
    expect(relays.length).toBeGreaterThanOrEqual(2);
  });

  it('applies a redelivered message once', async () => {
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createChannel();
    const envelope = { ...userEvent(500), id: randomUUID(), version: 1, occurred_at: new Date().toISOString(), actor_id: null, actor_email: null, request_id: 'r1' };
    const content = Buffer.from(JSON.stringify(envelope));
    const before = consumer.processed;
    for (let i = 0; i < 3; i += 1) channel.publish(EVENTS_EXCHANGE, envelope.type, content, { messageId: envelope.id, persistent: true });
    await eventually(() => consumer.processed >= before + 3);
    expect(await effects()).toEqual([envelope.id]);
    await connection.close();
  });

  it('dead-letters a malformed message at once and a message whose handler keeps failing after the retries', async () => {
    const connection = await amqplib.connect(vhost.url);
    const channel = await connection.createChannel();
    channel.publish(EVENTS_EXCHANGE, 'identity.user.registered', Buffer.from('{not json'), { messageId: 'bad-1' });
    const poison = { ...userEvent(900), id: randomUUID(), version: 1, occurred_at: new Date().toISOString(), actor_id: null, actor_email: null, request_id: null };
    handlerFailures.set(poison.data.user.email, 100);
    channel.publish(EVENTS_EXCHANGE, poison.type, Buffer.from(JSON.stringify(poison)), { messageId: poison.id });
    const dead: string[] = [];
    await eventually(async () => {
      const msg = await channel.get(deadLetterQueue('audit'), { noAck: true });
      if (msg) dead.push(String(msg.properties.messageId));
      return dead.length === 2;
    }, 10000);
    expect(dead.sort()).toEqual(['bad-1', poison.id].sort());
    expect(await effects()).toEqual([]);
    await connection.close();
  });

  it('retries a handler that fails transiently and applies it once', async () => {
    await startRelay();
    const event = userEvent(700);
    handlerFailures.set(event.data.user.email, 2);
    const [envelope] = await db.transaction((trx) => outbox.add(trx, event));
    await eventually(async () => (await effects()).length === 1, 10000);
    expect(await effects()).toEqual([envelope!.id]);
  });

  it('loses nothing when the broker drops its connections in the middle of a burst', async () => {
    await startRelay();
    const ids: string[] = [];
    const { managementUrl, amqpUrl } = testInfra();
    const auth = `Basic ${Buffer.from(`${new URL(amqpUrl).username || 'guest'}:${new URL(amqpUrl).password || 'guest'}`).toString('base64')}`;
    const write = async (from: number) => {
      for (let i = 0; i < 20; i += 1) {
        const envelopes = await db.transaction((trx) => outbox.add(trx, userEvent(from + i * 2), userEvent(from + i * 2 + 1)));
        ids.push(...envelopes.map((e) => e.id));
      }
    };
    await write(1000);
    // Close every connection of this test's vhost, as a broker restart would.
    const list = await eventually(async () => {
      const res = await fetch(`${managementUrl}/api/vhosts/${vhost.name}/connections`, { headers: { authorization: auth } });
      const conns = (await res.json()) as Array<{ name: string }>;
      return conns.length > 0 ? conns : false;
    });
    await Promise.all(list.map((c) => fetch(`${managementUrl}/api/connections/${encodeURIComponent(c.name)}`, { method: 'DELETE', headers: { authorization: auth } })));
    await write(2000);
    await eventually(async () => broker.connected, 15000);
    await write(3000);
    await eventually(async () => (await effects()).length >= ids.length, 20000);
    expect((await effects()).sort()).toEqual([...ids].sort());
    const unpublished = await db('outbox').whereNull('published_at').count({ n: '*' }).first();
    expect(unpublished).toEqual({ n: '0' });
  });
});
