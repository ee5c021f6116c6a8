import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { ApiRoutes, createApp, createDb, createLogger, idempotencyMigration, idempotent, inTransaction, migrate, purgeExpiredIdempotencyKeys, type RunningServer } from '@taskflow/shared';
import { createTestDatabase, request, startTestServer, type TestDatabase } from '@taskflow/shared/testing';

describe('Idempotency-Key', () => {
  let database: TestDatabase;
  let db: Knex;
  let server: RunningServer;
  const user = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'svc' });
    await migrate(db, 'svc', [idempotencyMigration, { name: '001_things', up: (k) => k.schema.createTable('things', (t) => { t.uuid('id').primary(); t.text('name'); }) }]);
    const routes = new ApiRoutes();
    routes.add(
      { method: 'post', path: '/things', summary: 'Create', tags: ['t'], auth: false, body: z.object({ name: z.string() }), responses: { 201: { description: 'created' } } },
      async (ctx, { body }) => {
        // The use case writes in `inTransaction`, so with a key it joins the transaction holding the key.
        const createThing = () =>
          inTransaction(db, async (trx) => {
            const id = randomUUID();
            await trx('things').insert({ id, name: body.name });
            await trx.raw('select pg_sleep(0.05)');
            return { id, name: body.name };
          });
        const response = await idempotent(ctx, db, user, body, async () => {
          const thing = await createThing();
          if (body.name === 'fails-after-the-use-case') throw new Error('the response cannot be shaped');
          return { status: 201, body: thing };
        });
        ctx.status = response.status;
        ctx.body = response.body;
      },
    );
    server = await startTestServer(createApp({ service: 't', logger: createLogger('t', 'silent'), routes: [routes] }));
  });
  afterAll(async () => {
    await server.close();
    await db.destroy();
    await database.drop();
  });

  const count = async (name: string) => Number((await db('things').where({ name }).count({ n: '*' }).first())!.n);

  it('replays the first response for a repeated key without doing the work again', async () => {
    const headers = { 'idempotency-key': 'k-1' };
    const first = await request(server.url, 'POST', '/things', { body: { name: 'a' }, headers });
    const second = await request(server.url, 'POST', '/things', { body: { name: 'a' }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await count('a')).toBe(1);
  });

  it('answers 422 for the same key with a different body and changes nothing', async () => {
    const headers = { 'idempotency-key': 'k-2' };
    await request(server.url, 'POST', '/things', { body: { name: 'b' }, headers });
    const other = await request(server.url, 'POST', '/things', { body: { name: 'c' }, headers });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    expect(await count('c')).toBe(0);
  });

  it('does the work once for concurrent requests with one key', async () => {
    const headers = { 'idempotency-key': 'k-3' };
    const results = await Promise.all(Array.from({ length: 8 }, () => request(server.url, 'POST', '/things', { body: { name: 'd' }, headers })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await count('d')).toBe(1);
  });

  it('rolls the use case back with the key when the wrapped work fails after it: nothing stored, the key still free', async () => {
    const headers = { 'idempotency-key': 'k-4' };
    const failed = await request(server.url, 'POST', '/things', { body: { name: 'fails-after-the-use-case' }, headers });
    expect(failed.status).toBe(500);
    expect(await count('fails-after-the-use-case')).toBe(0);
    expect(await db('idempotency_keys').where({ user_id: user, key: 'k-4' })).toEqual([]);
  });

  it('does the work each time without a key, and refuses an unprintable key', async () => {
    await request(server.url, 'POST', '/things', { body: { name: 'e' } });
    await request(server.url, 'POST', '/things', { body: { name: 'e' } });
    expect(await count('e')).toBe(2);
    const bad = await request(server.url, 'POST', '/things', { body: { name: 'f' }, headers: { 'idempotency-key': 'x'.repeat(300) } });
    expect(bad.status).toBe(400);
    expect(await count('f')).toBe(0);
  });
});

describe('purgeExpiredIdempotencyKeys', () => {
  let database: TestDatabase;
  let db: Knex;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'svc' });
    await migrate(db, 'svc', [idempotencyMigration]);
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('deletes keys older than 24 hours and keeps the others', async () => {
    const user = randomUUID();
    await db('idempotency_keys').insert([
      { user_id: user, key: 'old', request_hash: 'h', created_at: new Date(Date.now() - 25 * 3600 * 1000) },
      { user_id: user, key: 'fresh', request_hash: 'h' },
    ]);
    expect(await purgeExpiredIdempotencyKeys(db)).toBe(1);
    expect((await db('idempotency_keys').select('key')).map((r: { key: string }) => r.key)).toEqual(['fresh']);
  });
});
