import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createDb, migrate, Outbox, outboxMigration, type NewEvent } from '@taskflow/shared';
import { createTestDatabase, type TestDatabase } from '@taskflow/shared/testing';

const schema = 'svc';
// One INSERT binds 3 parameters per row and PostgreSQL allows 65,535 per statement.
const MORE_THAN_ONE_STATEMENT_BINDS = Math.floor(65_535 / 3) + 1;

const taskDeleted = (): NewEvent<'work.task.deleted'> => ({
  type: 'work.task.deleted',
  organization_id: randomUUID(),
  actor: null,
  data: { task: { id: randomUUID(), project_id: randomUUID(), title: 'T' } },
});

describe('outbox', () => {
  let database: TestDatabase;
  let db: Knex;
  const outbox = new Outbox(schema);

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema });
    await migrate(db, schema, [outboxMigration]);
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('records more events in one call than one statement can bind', async () => {
    const events = Array.from({ length: MORE_THAN_ONE_STATEMENT_BINDS }, taskDeleted);
    const envelopes = await db.transaction((trx) => outbox.add(trx, events));
    expect(envelopes).toHaveLength(MORE_THAN_ONE_STATEMENT_BINDS);
    expect(await db('outbox').count({ n: '*' }).first()).toEqual({ n: String(MORE_THAN_ONE_STATEMENT_BINDS) });
  });

  it('records single events and lists of events in the order given', async () => {
    await db('outbox').delete();
    const [first, second, third] = [taskDeleted(), taskDeleted(), taskDeleted()];
    const envelopes = await db.transaction((trx) => outbox.add(trx, first!, [second!, third!]));
    const rows = await db('outbox').select('id').orderBy('seq');
    expect(rows.map((r: { id: string }) => r.id)).toEqual(envelopes.map((e) => e.id));
    expect(envelopes.map((e) => e.data)).toEqual([first!.data, second!.data, third!.data]);
  });
});
