// The pool's statement timeout: a runaway query is cancelled, answered 503 + Retry-After, and its connection serves the next request.
import type { Knex } from 'knex';
import { ApiRoutes, createApp, createDb, createLogger, migrate, type RunningServer } from '@taskflow/shared';
import { createTestDatabase, request, startTestServer, type TestDatabase } from '@taskflow/shared/testing';

describe('statement timeout', () => {
  let database: TestDatabase;
  let db: Knex;
  let server: RunningServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection: if the slow statement kept it, the quick request after it could not run.
    db = createDb({ url: database.url, schema: 'public', poolMax: 1, statementTimeoutMs: 200 });
    const routes = new ApiRoutes();
    routes.add({ method: 'get', path: '/slow', summary: 'Runs too long', tags: ['x'], auth: false, responses: { 200: { description: 'never' } } }, async (ctx) => {
      await db.raw('select pg_sleep(3)');
      ctx.body = { finished: true };
    });
    routes.add({ method: 'get', path: '/quick', summary: 'Runs at once', tags: ['x'], auth: false, responses: { 200: { description: 'ok' } } }, async (ctx) => {
      ctx.body = (await db.raw('select 1 as one')).rows[0];
    });
    server = await startTestServer(createApp({ service: 'test', logger: createLogger('test', 'silent'), routes: [routes] }));
  });
  afterAll(async () => {
    await server.close();
    await db.destroy();
    await database.drop();
  });

  it('cancels a statement past the timeout, answers 503 with Retry-After, and frees the connection at once', async () => {
    const started = Date.now();
    const res = await request(server.url, 'GET', '/slow');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({ status: 503, code: 'query_timeout' });
    expect(Date.now() - started).toBeLessThan(2500);
    // The pool's only connection serves the next request.
    const next = await request(server.url, 'GET', '/quick');
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ one: 1 });
  });

  it('applies to every pooled connection, and migrations are exempt from it', async () => {
    // migrate() needs two connections (one holds the advisory lock).
    const migrating = createDb({ url: database.url, schema: 'public', poolMax: 2, statementTimeoutMs: 200 });
    try {
      expect((await migrating.raw('show statement_timeout')).rows[0].statement_timeout).toBe('200ms');
      await migrate(migrating, 'slow_schema', [{ name: '001_slow', up: async (trx) => void (await trx.raw('select pg_sleep(0.4)')) }]);
      expect(await migrating('slow_schema.knex_migrations').pluck('name')).toEqual(['001_slow']);
    } finally {
      await migrating.destroy();
    }
  });
});
