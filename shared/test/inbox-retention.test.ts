import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import {
  Broker,
  createDb,
  createLogger,
  EventConsumer,
  INBOX_RETENTION_MS,
  inboxMigration,
  inboxRetentionMigration,
  migrate,
  QUEUES,
} from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';

const logger = createLogger('inbox-retention-test', 'silent');
const schema = 'svc';
const DAY = 24 * 3600 * 1000;

describe('inbox retention', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let db: Knex;
  let broker: Broker;
  let consumer: EventConsumer;

  const processedAgo = async (ms: number): Promise<string> => {
    const id = randomUUID();
    await db('processed_messages').insert({ message_id: id, type: 'identity.user.registered', processed_at: new Date(Date.now() - ms) });
    return id;
  };
  const remembered = async () => (await db('processed_messages').select('message_id')).map((r: { message_id: string }) => r.message_id);

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    db = createDb({ url: database.url, schema });
    await migrate(db, schema, [inboxMigration, inboxRetentionMigration]);
    broker = await Broker.connect(vhost.url, logger);
  });

  afterAll(async () => {
    await consumer?.stop();
    await broker.close();
    await db.destroy();
    await database.drop();
    await vhost.drop();
  });

  it('forgets processed messages older than the retention window and remembers the newer ones', async () => {
    const expired = await Promise.all([processedAgo(INBOX_RETENTION_MS + DAY), processedAgo(INBOX_RETENTION_MS + 60_000)]);
    const kept = await Promise.all([processedAgo(INBOX_RETENTION_MS - 60_000), processedAgo(DAY), processedAgo(0)]);
    consumer = new EventConsumer({ broker, db, queue: QUEUES.tenancy.name, handlers: {}, logger });
    await consumer.start();
    await eventually(async () => !(await remembered()).some((id) => expired.includes(id)));
    expect((await remembered()).sort()).toEqual([...kept].sort());
  });
});
