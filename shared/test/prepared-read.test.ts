import type { Knex } from 'knex';
import { createDb, preparedRead } from '@taskflow/shared';
import { createTestDatabase, type TestDatabase } from '@taskflow/shared/testing';

describe('preparedRead', () => {
  let database: TestDatabase;
  let db: Knex;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'public', poolMax: 2 });
    await db.schema.createTable('items', (t) => {
      t.integer('id').primary();
      t.text('name');
    });
    await db('items').insert([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('answers each call with its own values on a statement prepared once per connection', async () => {
    const sql = 'select id, name from public.items where id = $1';
    const results = await Promise.all([1, 2, 1, 3, 2].map((id) => preparedRead<{ id: number; name: string }>(db, sql, [id])));
    expect(results.map((rows) => rows.map((r) => r.name))).toEqual([['one'], ['two'], ['one'], [], ['two']]);
  });

  it('keeps the connection usable after a failing statement', async () => {
    await expect(preparedRead(db, 'select * from public.nope where id = $1', [1])).rejects.toThrow();
    expect(await preparedRead(db, 'select name from public.items where id = $1', [2])).toEqual([{ name: 'two' }]);
  });
});
