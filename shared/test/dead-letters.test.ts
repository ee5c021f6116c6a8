import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import type { Knex } from 'knex';
import {
  Broker,
  createDb,
  createLogger,
  deadLetterQueue,
  dropDeadLetters,
  EVENTS_EXCHANGE,
  EventConsumer,
  inboxMigration,
  listDeadLetters,
  migrate,
  replayDeadLetters,
} from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';

const logger = createLogger('dead-letters-test', 'silent');
const schema = 'svc';
const root = path.resolve(__dirname, '../..');

const envelope = (email: string) => ({
  id: randomUUID(),
  type: 'identity.user.registered',
  version: 1,
  occurred_at: new Date().toISOString(),
  organization_id: null,
  actor_id: null,
  actor_email: null,
  request_id: null,
  data: { user: { id: randomUUID(), email, first_name: 'D', last_name: 'L' }, date_joined: new Date().toISOString() },
});

/** Runs `npm run dlq -- ...` as an operator would, against this test's vhost. */
async function dlq(amqpUrl: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['scripts/dlq.ts', ...args], {
    cwd: root,
    env: { ...process.env, AMQP_URL: amqpUrl },
  });
  return stdout;
}

describe('dead-letter tools', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let db: Knex;
  let broker: Broker;
  let consumer: EventConsumer;
  let connection: amqplib.ChannelModel;
  let channel: amqplib.Channel;
  /** Emails whose handler throws: the "cause" an operator fixes before replaying. */
  const broken = new Set<string>();

  const applied = async (id: string) => Number((await db('effects').where({ event_id: id }).count({ n: '*' }).first())!.n);
  const deadLettered = async () => (await channel.checkQueue(deadLetterQueue('audit'))).messageCount;

  /** Publishes an event whose handler fails until `broken` forgets its email; resolves once it is dead-lettered. */
  async function deadLetter(email: string) {
    const event = envelope(email);
    broken.add(email);
    const before = await deadLettered();
    channel.publish(EVENTS_EXCHANGE, event.type, Buffer.from(JSON.stringify(event)), { messageId: event.id, persistent: true });
    await eventually(async () => (await deadLettered()) === before + 1, 10000);
    return event;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    db = createDb({ url: database.url, schema });
    await migrate(db, schema, [
      inboxMigration,
      { name: '001_effects', up: (k) => k.schema.createTable('effects', (t) => { t.uuid('event_id'); t.text('type'); }) },
    ]);
    broker = await Broker.connect(vhost.url, logger);
    consumer = new EventConsumer({
      broker,
      db,
      queue: 'audit',
      logger,
      retryDelayMs: 5,
      maxAttempts: 2,
      handlers: {
        'identity.user.registered': async (trx, event) => {
          if (broken.has(event.data.user.email)) throw new Error(`no profile table for ${event.data.user.email}`);
          await trx('effects').insert({ event_id: event.id, type: event.type });
        },
      },
    });
    await consumer.start();
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createChannel();
  });

  afterAll(async () => {
    await connection.close();
    await consumer.stop();
    await broker.close();
    await db.destroy();
    await database.drop();
    await vhost.drop();
  });

  it('lists a dead-lettered event with the handler error that put it there, and leaves the queue as it was', async () => {
    const event = await deadLetter('list@example.com');
    const malformedId = randomUUID();
    channel.publish(EVENTS_EXCHANGE, 'identity.user.registered', Buffer.from('{oops'), { messageId: malformedId });
    await eventually(async () => (await deadLettered()) >= 2, 10000);

    const letters = await listDeadLetters(vhost.url, 'audit');
    const mine = letters.find((l) => l.message_id === event.id);
    expect(mine).toMatchObject({ queue: 'audit', type: 'identity.user.registered', attempts: 2, reason: 'handler failed: no profile table for list@example.com' });
    expect(mine!.dead_lettered_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(letters.find((l) => l.message_id === malformedId)?.reason).toBe('malformed: the body is not a TaskFlow event');
    // Looking changed nothing: the same messages are still there, in the same order.
    expect((await listDeadLetters(vhost.url, 'audit')).map((l) => l.message_id)).toEqual(letters.map((l) => l.message_id));
    await dropDeadLetters(vhost.url, 'audit');
    expect(await deadLettered()).toBe(0);
  });

  it('replays only the chosen message once its cause is fixed, and the inbox applies it exactly once', async () => {
    const chosen = await deadLetter('replay@example.com');
    const other = await deadLetter('other@example.com');
    broken.delete('replay@example.com');

    const replayed = await replayDeadLetters(vhost.url, 'audit', { ids: [chosen.id] });
    expect(replayed.map((l) => l.message_id)).toEqual([chosen.id]);
    await eventually(async () => (await applied(chosen.id)) === 1, 10000);
    expect((await listDeadLetters(vhost.url, 'audit')).map((l) => l.message_id)).toEqual([other.id]);

    // A second copy of an applied event (an operator replaying twice) changes nothing.
    const processed = consumer.processed;
    channel.sendToQueue(deadLetterQueue('audit'), Buffer.from(JSON.stringify(chosen)), { messageId: chosen.id, persistent: true });
    await eventually(async () => (await deadLettered()) === 2);
    await replayDeadLetters(vhost.url, 'audit', { ids: [chosen.id] });
    await eventually(() => consumer.processed > processed, 10000);
    expect(await applied(chosen.id)).toBe(1);
    await dropDeadLetters(vhost.url, 'audit', { ids: [other.id] });
    expect(await deadLettered()).toBe(0);
  });

  it('works from the command line: list, show, replay', async () => {
    const event = await deadLetter('cli@example.com');
    expect(await dlq(vhost.url, 'list', 'audit')).toContain(`${event.id}  identity.user.registered  attempts=2`);
    const shown = JSON.parse(await dlq(vhost.url, 'show', event.id)) as { reason: string; body: string };
    expect(shown.reason).toBe('handler failed: no profile table for cli@example.com');
    expect(JSON.parse(shown.body).id).toBe(event.id);

    broken.delete('cli@example.com');
    expect(await dlq(vhost.url, 'replay', 'audit', '--id', event.id)).toContain('1 message(s) put back on audit');
    await eventually(async () => (await applied(event.id)) === 1, 10000);
    expect(await deadLettered()).toBe(0);
  }, 120_000); // three `tsx` processes: seconds each on a busy machine

  it('refuses an unknown queue', async () => {
    await expect(listDeadLetters(vhost.url, 'nope')).rejects.toThrow("Unknown queue 'nope'");
  });
});
