// The keyset module on a real PostgreSQL: every page walk joins to exactly the full list in the order an
// ORDER BY written out here gives, through knex and through a prepared statement, across organizations.
import type { Knex } from 'knex';
import { acrossOrganizations, createDb, type KeyValue, type Keyset, keyset, keysetPage, numbered, preparedRead, type Sql } from '@taskflow/shared';
import { createTestDatabase, rowsOf, sqlOf, type TestDatabase } from '@taskflow/shared/testing';

interface Item {
  id: number;
  org: string;
  rank: number;
  name: string;
  due: string | null;
  due_key: string;
}

const ORGS = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000c'];

describe('keyset pagination on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Knex;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'public' });
    await db.raw(`
      create table items (
        id integer primary key,
        org uuid not null,
        rank integer not null,
        name text not null,
        due date,
        due_key date generated always as (coalesce(due, 'infinity'::date)) stored
      )`);
    // Many ties on rank and name so only the id breaks them; one item in four has no due date.
    const rows = Array.from({ length: 57 }, (_, i) => ({
      id: i + 1,
      org: ORGS[i % 3]!,
      rank: i % 4,
      name: ['b', 'a', 'c'][i % 3]!,
      due: i % 4 === 0 ? null : `2030-01-${String(1 + (i % 5)).padStart(2, '0')}`,
    }));
    // Inserted out of id order, so the physical order gives nothing away.
    await db('items').insert(rows.reverse());
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  const select = (q: Knex.QueryBuilder) => q.select('id', 'org', 'rank', 'name', db.raw('due::text as due'), db.raw('due_key::text as due_key'));
  const valuesOf = (set: Keyset, row: Item): KeyValue[] => set.keys.map((k) => row[k.column as keyof Item] as KeyValue);

  async function expected(orderBy: string, where = 'true'): Promise<number[]> {
    const { rows } = await db.raw(`select id from items where ${where} order by ${orderBy}`);
    return rows.map((r: { id: number }) => r.id);
  }

  /** Every id, one page of `size` at a time, each page resumed from the last row of the one before. */
  async function walk(read: (after: KeyValue[] | undefined) => Promise<Item[]>, set: Keyset, size: number): Promise<number[]> {
    const seen: number[] = [];
    let after: KeyValue[] | undefined;
    for (;;) {
      const rows = await read(after);
      const page = rows.slice(0, size);
      seen.push(...page.map((r) => r.id));
      if (rows.length <= size) return seen;
      after = valuesOf(set, page[page.length - 1]!);
    }
  }

  const viaKnex = (set: Keyset, size: number) => (after: KeyValue[] | undefined) => keysetPage(select(db('items')), set, 'items', after).limit(size + 1) as Promise<Item[]>;

  const viaPrepared = (set: Keyset, size: number) => async (after: KeyValue[] | undefined) => {
    const where = after ? set.after('items', after) : { text: 'true', values: [] };
    const sql = numbered({ text: `select id, org, rank, name, due::text as due, due_key::text as due_key from items where ${where.text} order by ${set.orderBy('items')} limit ?`, values: [...where.values, size + 1] });
    return preparedRead<Item>(db, sql.text, sql.values);
  };

  const orderings: Array<[string, Keyset, string]> = [
    ['rank, id', keyset([{ column: 'rank', descending: false }, { column: 'id', descending: false }]), 'rank asc, id asc'],
    ['-rank, -id', keyset([{ column: 'rank', descending: true }, { column: 'id', descending: true }]), 'rank desc, id desc'],
    [
      '-rank, name, id (mixed)',
      keyset([{ column: 'rank', descending: true }, { column: 'name', descending: false }, { column: 'id', descending: false }]),
      'rank desc, name asc, id asc',
    ],
    [
      'rank, -name, -id (mixed)',
      keyset([{ column: 'rank', descending: false }, { column: 'name', descending: true }, { column: 'id', descending: true }]),
      'rank asc, name desc, id desc',
    ],
    ['-rank, id (mixed)', keyset([{ column: 'rank', descending: true }, { column: 'id', descending: false }]), 'rank desc, id asc'],
    ['due, id (no due date last)', keyset([{ column: 'due_key', descending: false }, { column: 'id', descending: false }]), 'due asc nulls last, id asc'],
    ['-due, -id (no due date first)', keyset([{ column: 'due_key', descending: true }, { column: 'id', descending: true }]), 'due desc nulls first, id desc'],
  ];

  it.each(orderings)('pages by %s join to exactly the full ordered list, through knex', async (_, set, orderBy) => {
    const all = await expected(orderBy);
    for (const size of [1, 7, 56, 57, 100]) expect(await walk(viaKnex(set, size), set, size)).toEqual(all);
  });

  it.each(orderings)('pages by %s join to exactly the full ordered list, through a prepared statement', async (_, set, orderBy) => {
    expect(await walk(viaPrepared(set, 5), set, 5)).toEqual(await expected(orderBy));
  });

  it('breaks ties by id: rows equal on every other key come in id order', async () => {
    const set = keyset([{ column: 'rank', descending: false }, { column: 'name', descending: false }, { column: 'id', descending: false }]);
    const ids = await walk(viaKnex(set, 2), set, 2);
    const ties = (await db('items').select('id').where({ rank: 1, name: 'a' })).map((r: { id: number }) => r.id).sort((a: number, b: number) => a - b);
    expect(ties.length).toBeGreaterThan(2);
    expect(ids.filter((id) => ties.includes(id))).toEqual(ties);
  });

  it('resumes after a row without a due date', async () => {
    const set = keyset([{ column: 'due_key', descending: true }, { column: 'id', descending: true }]);
    const noDue = await expected('id desc', 'due is null');
    // Descending, tasks without a due date come first; resume from the third of them.
    const rows = await keysetPage(select(db('items')), set, 'items', ['infinity', noDue[2]!]).limit(3);
    expect(rows.map((r: Item) => r.id)).toEqual(noDue.slice(3, 6));
  });

  it('keeps a constant statement per shape: the cursor only changes the values', () => {
    const set = keyset([{ column: 'rank', descending: true }, { column: 'id', descending: true }]);
    const a = set.after('items', [3, 10]);
    const b = set.after('items', [0, 2]);
    expect(a.text).toBe(b.text);
    expect([a.values, b.values]).toEqual([[3, 10], [0, 2]]);
    // Keys sorted the same way compare as one row: an index bound, not an OR of comparisons.
    expect(a.text).toBe('("items"."rank", "items"."id") < (?, ?)');
  });

  it('refuses a cursor with the wrong number of values and a column that is not a plain identifier', () => {
    const set = keyset([{ column: 'rank', descending: false }, { column: 'id', descending: false }]);
    expect(() => set.after('items', [1])).toThrow();
    expect(() => keyset([{ column: 'id; drop table items', descending: false }])).toThrow();
  });

  describe('across organizations (LATERAL per organization)', () => {
    const set = keyset([{ column: 'rank', descending: true }, { column: 'id', descending: true }]);
    const organizations = (ids: string[]): Sql => sqlOf(db.raw(`select unnest(?::uuid[]) as organization_id`, [ids]));

    const viaLateral = (ids: string[], size: number) => (after: KeyValue[] | undefined) => {
      const perOrganization = keysetPage(select(db('items')).whereRaw('items.org = o.organization_id'), set, 'items', after).limit(size + 1);
      return rowsOf<Item>(db, acrossOrganizations({ organizations: organizations(ids), perOrganization: sqlOf(perOrganization), keyset: set, limit: size + 1 }));
    };

    it('merges the organizations’ pages into exactly their full ordered list, and nothing of the others', async () => {
      const mine = [ORGS[0]!, ORGS[2]!];
      const all = await expected('rank desc, id desc', `org in ('${ORGS[0]}', '${ORGS[2]}')`);
      for (const size of [1, 4, 50]) expect(await walk(viaLateral(mine, size), set, size)).toEqual(all);
    });

    it('reads nothing for a caller with no organization', async () => {
      expect(await walk(viaLateral([], 5), set, 5)).toEqual([]);
    });

    it('runs as one prepared statement too', async () => {
      const perOrganization = keysetPage(select(db('items')).whereRaw('items.org = o.organization_id'), set, 'items', [2, 30]).limit(3);
      const sql = numbered(acrossOrganizations({ organizations: organizations([ORGS[1]!]), perOrganization: sqlOf(perOrganization), keyset: set, limit: 3 }));
      const rows = await preparedRead<Item>(db, sql.text, sql.values);
      expect(rows.map((r) => r.id)).toEqual((await expected('rank desc, id desc', `org = '${ORGS[1]}' and (rank, id) < (2, 30)`)).slice(0, 3));
    });
  });
});
