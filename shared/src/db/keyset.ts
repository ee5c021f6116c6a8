// Keyset pagination, the one module every list uses: rows strictly after a cursor in a total order, and
// the merge of per-organization pages, as SQL text with `?` parameters (knex.raw takes it as it is;
// `numbered` turns it into $n text for a prepared statement).
import type { Knex } from 'knex';

/** SQL text with `?` placeholders and their values, in order. */
export interface Sql {
  text: string;
  values: Knex.Value[];
}

export interface SortKey {
  /** A column name (no table): it is qualified by the table or alias a caller names. */
  column: string;
  descending: boolean;
}

/** A sort value as a cursor carries it (timestamps as ISO text, which PostgreSQL casts to the column's type). */
export type KeyValue = string | number;

/**
 * A total order over NOT NULL columns that ends in a unique one (ties broken by it). A nullable column
 * sorts through a generated never-NULL key instead (work's `due_key = coalesce(due_date, 'infinity')`):
 * a NULL would compare as unknown, and its rows would never come after any cursor.
 */
export interface Keyset {
  readonly keys: readonly SortKey[];
  /** The ORDER BY list over `table`'s columns, e.g. `"t"."due_key" asc, "t"."id" asc`. */
  orderBy(table: string): string;
  /**
   * The rows of `table` strictly after `after` (one value per key). Keys sorted the same way compare as one
   * row, `(a, b) > (?, ?)`, which is an index bound: the scan starts at the cursor instead of filtering the
   * rows before it. Where the direction changes, the runs are joined as `a < ? or (a = ? and (b, c) > (?, ?))`.
   */
  after(table: string, after: readonly KeyValue[]): Sql;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function quoted(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}

export function keyset(keys: readonly SortKey[]): Keyset {
  if (keys.length === 0) throw new Error('A keyset needs at least one sort key');
  keys.forEach((key) => quoted(key.column));
  const column = (table: string, key: SortKey) => `${quoted(table)}.${quoted(key.column)}`;
  // Consecutive keys sorted the same way, with the index of their first key.
  const runs: Array<{ start: number; keys: SortKey[] }> = [];
  keys.forEach((key, i) => {
    const last = runs[runs.length - 1];
    if (last && last.keys[0]!.descending === key.descending) last.keys.push(key);
    else runs.push({ start: i, keys: [key] });
  });
  return {
    keys,
    orderBy: (table) => keys.map((key) => `${column(table, key)} ${key.descending ? 'desc' : 'asc'}`).join(', '),
    after(table, after) {
      if (after.length !== keys.length) throw new Error(`A cursor of ${after.length} values for a keyset of ${keys.length} keys`);
      const values: Knex.Value[] = [];
      const terms = runs.map((run) => {
        const conditions: string[] = [];
        for (let i = 0; i < run.start; i += 1) {
          conditions.push(`${column(table, keys[i]!)} = ?`);
          values.push(after[i]);
        }
        const columns = run.keys.map((key) => column(table, key));
        const bound = run.keys.map(() => '?');
        values.push(...after.slice(run.start, run.start + run.keys.length));
        const operator = run.keys[0]!.descending ? '<' : '>';
        conditions.push(columns.length === 1 ? `${columns[0]} ${operator} ?` : `(${columns.join(', ')}) ${operator} (${bound.join(', ')})`);
        return conditions.join(' and ');
      });
      return { text: terms.length === 1 ? terms[0]! : `(${terms.map((t) => `(${t})`).join(' or ')})`, values };
    },
  };
}

/** Orders `query` by `set` over `table` and, given a cursor, keeps only the rows after it. */
export function keysetPage<Q extends Knex.QueryBuilder>(query: Q, set: Keyset, table: string, after?: readonly KeyValue[]): Q {
  if (after) {
    const where = set.after(table, after);
    query.whereRaw(where.text, where.values);
  }
  query.orderByRaw(set.orderBy(table));
  return query;
}

/**
 * One page across many organizations, each read through its own index: `perOrganization` (which must
 * compare its organization with `o.organization_id`, and take its own first `limit` rows in `set`'s order)
 * runs once per row of `organizations` (a query with an `organization_id` column, aliased `o`) as a
 * LATERAL subquery aliased `page`, and the first `limit` rows of the merge are kept. A page then costs the
 * same however many rows precede it and however many rows each organization holds.
 */
export function acrossOrganizations(input: { organizations: Sql; perOrganization: Sql; keyset: Keyset; limit: number; select?: string }): Sql {
  return {
    text: `select ${input.select ?? 'page.*'} from (${input.organizations.text}) as o cross join lateral (${input.perOrganization.text}) as page order by ${input.keyset.orderBy('page')} limit ?`,
    values: [...input.organizations.values, ...input.perOrganization.values, input.limit],
  };
}

/** The `organizations` of `acrossOrganizations` for one organization the caller was checked to belong to. */
export const oneOrganization = (organizationId: string): Sql => ({ text: 'select ?::uuid as organization_id', values: [organizationId] });

/** The text and values of a knex query, to compose with the SQL of this module. */
export function sqlOf(query: Knex.QueryBuilder | Knex.Raw): Sql {
  const { sql, bindings } = query.toSQL();
  return { text: sql, values: [...bindings] };
}

/** Runs `sql` through knex and returns its rows. */
export async function rowsOf<R>(db: Knex | Knex.Transaction, sql: Sql): Promise<R[]> {
  const result = (await db.raw(sql.text, sql.values)) as { rows: R[] };
  return result.rows;
}

/**
 * `sql` with $n placeholders from `$first` on, for node-postgres (a named prepared statement, as
 * `preparedRead` runs). Only for text built by this module and by knex, which hold no other `?`.
 */
export function numbered(sql: Sql, first = 1): { text: string; values: Knex.Value[] } {
  let n = first;
  return { text: sql.text.replace(/\?/g, () => `$${n++}`), values: sql.values };
}
