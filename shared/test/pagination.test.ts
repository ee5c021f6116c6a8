import type { Knex } from 'knex';
import { createDb, decodeCursor, encodeCursor, whereAfter, type CursorValue, type SortKey } from '@taskflow/shared';
import { createTestDatabase, type TestDatabase } from '@taskflow/shared/testing';

describe('cursors', () => {
  it('round-trips values', () => {
    const values: CursorValue[] = ['2026-11-27T10:00:00.000Z', 3, null, 'abc'];
    expect(decodeCursor(encodeCursor(values), 4)).toEqual(values);
  });

  it.each(['', 'not base64 at all!', encodeCursor(['a']), Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[{}]').toString('base64url')])(
    'rejects the malformed cursor %p with a 400',
    (cursor) => {
      expect(() => decodeCursor(cursor, 2)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_cursor' }));
    },
  );
});

describe('whereAfter on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'public' });
    await db.schema.createTable('items', (t) => {
      t.integer('id').primary();
      t.integer('rank').notNullable();
      t.text('name').notNullable();
    });
    // Many ties on rank and name so only the id breaks them.
    const rows = Array.from({ length: 57 }, (_, i) => ({ id: i + 1, rank: i % 4, name: ['b', 'a', 'c'][i % 3]! }));
    await db('items').insert(rows);
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  async function walk(keys: SortKey[], pageSize: number): Promise<number[]> {
    const seen: number[] = [];
    let after: CursorValue[] | undefined;
    for (;;) {
      const q = db('items').select('*').limit(pageSize + 1);
      if (after) whereAfter(q, keys, after);
      else keys.forEach((k) => q.orderBy(k.column, k.descending ? 'desc' : 'asc'));
      const rows = (await q) as Array<{ id: number; rank: number; name: string }>;
      const page = rows.slice(0, pageSize);
      seen.push(...page.map((r) => r.id));
      if (rows.length <= pageSize) return seen;
      const last = page[page.length - 1]!;
      after = keys.map((k) => last[k.column as 'id' | 'rank' | 'name']);
    }
  }

  it.each([
    [[{ column: 'rank', descending: false }, { column: 'id', descending: false }]],
    [[{ column: 'rank', descending: true }, { column: 'id', descending: true }]],
    [[{ column: 'rank', descending: true }, { column: 'name', descending: false }, { column: 'id', descending: true }]],
  ])('visits every row exactly once in order %j', async (keys) => {
    const all = await walk(keys, 1000);
    const paged = await walk(keys, 7);
    expect(paged).toEqual(all);
    expect(new Set(paged).size).toBe(57);
  });
});
