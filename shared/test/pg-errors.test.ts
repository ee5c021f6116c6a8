// The error mapper's second wall behind the schemas: dates PostgreSQL refuses are the client's 400, not a 500.
import type { Knex } from 'knex';
import { createDb, toProblem } from '@taskflow/shared';
import { createTestDatabase, type TestDatabase } from '@taskflow/shared/testing';

describe('PostgreSQL date errors', () => {
  let database: TestDatabase;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'public' });
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  const errorOf = (sql: string, value: string) =>
    db.raw(sql, [value]).then(
      () => {
        throw new Error(`${sql} accepted ${value}`);
      },
      (err: unknown) => err,
    );

  it.each([
    ['select ?::date', '0000-01-01', '22008'],
    ['select ?::timestamptz', '0000-06-01T00:00:00Z', '22008'],
    ['select ?::date', '2026-13-45', '22008'],
    ['select ?::date', 'soon', '22007'],
  ])('%s with %p (%s) is a 400 invalid_input', async (sql, value, code) => {
    const err = await errorOf(sql, value);
    expect(err).toMatchObject({ code });
    const { problem, expected } = toProblem(err);
    expect(problem).toMatchObject({ status: 400, code: 'invalid_input' });
    expect(expected).toBe(true);
  });
});

describe('PostgreSQL refusing a connection', () => {
  let database: TestDatabase;
  let admin: Knex;
  const role = `limited_${process.pid}_${Date.now()}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = createDb({ url: database.url, schema: 'public', poolMax: 1 });
    await admin.raw(`create role ${role} login connection limit 1`);
  });
  afterAll(async () => {
    await admin.raw(`drop role if exists ${role}`);
    await admin.destroy();
    await database.drop();
  });

  it('answers "too many connections" (53300) with 503 + Retry-After, not a 500', async () => {
    const url = new URL(database.url);
    url.username = role;
    const first = createDb({ url: url.toString(), schema: 'public', poolMax: 1 });
    const second = createDb({ url: url.toString(), schema: 'public', poolMax: 1 });
    try {
      // The first pool holds the role's only connection inside an open transaction.
      const trx = await first.transaction();
      const err = await second.raw('select 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      await trx.rollback();
      expect(err).toMatchObject({ code: '53300' });
      const { problem, headers, expected } = toProblem(err);
      expect(problem).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(headers['Retry-After']).toBeDefined();
      expect(expected).toBe(true);
    } finally {
      await first.destroy();
      await second.destroy();
    }
  });
});
