// Keyset pagination, the one module every list uses: rows strictly after a cursor in a total order, and
// the merge of per-organization pages, as SQL text with `?` parameters (knex.raw takes it as it is;
// `numbered` turns it into $n text for a prepared statement).
import type { Knex } from 'knex';
import type { ReplicaRow } from '../membership/replica';
import { preparedRead } from './index';

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

/**
 * `sql` with $n placeholders from `$first` on, for node-postgres (a named prepared statement, as
 * `preparedRead` runs). Only for text built by this module and by knex, which hold no other `?`.
 */
export function numbered(sql: Sql, first = 1): { text: string; values: Knex.Value[] } {
  let n = first;
  return { text: sql.text.replace(/\?/g, () => `$${n++}`), values: sql.values };
}

/**
 * A timestamp column as RFC 3339 UTC text with milliseconds, exactly as `Date.prototype.toISOString`
 * writes it (`2026-03-02T09:31:05.267Z`, fractions below a millisecond truncated as node-pg truncates
 * them), so a page PostgreSQL writes reads byte for byte like one written from JS objects.
 */
export const isoTimestamp = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A page as `jsonPage` returns it: PostgreSQL's JSON text of the results, and what `next` needs. */
export interface JsonPage {
  /** The JSON array of the page's first `limit` rows, never parsed here. */
  results: string;
  /** How many rows the statement found: `limit + 1` means there is a next page. */
  fetched: number;
  /** The cursor values of the page's last row (the `limit`-th), when there is one. */
  last: KeyValue[];
}

/**
 * One page of `limit` rows written by PostgreSQL as JSON text, so no row ever becomes a JS object:
 * `rows` (its rows in `keyset`'s order over its columns, at most `limit + 1` of them: the extra one
 * tells that a next page exists) is aliased `r`; `fields` lists
 * the API's fields of one row in the API's order (`r.organization_id as organization, ...`: each
 * row becomes `row_to_json` of them, compact, nulls as `null`); `cursor` the values `next` resumes
 * after, read from the `limit`-th row. `extra` adds select-list items to the single result row (for
 * example the caller's membership, read in the same round trip).
 */
export function jsonPage(input: { rows: Sql; keyset: Keyset; fields: string; cursor: readonly string[]; limit: number; extra?: Sql }): Sql {
  const cursor = input.cursor.map((expression, i) => `${expression} as c${i}`).join(', ');
  const last = input.cursor.map((_, i) => `(array_agg(p.c${i}) filter (where p.n = ?))[1] as c${i}`).join(', ');
  return {
    text:
      `select coalesce('[' || string_agg(p.json, ',' order by p.n) filter (where p.n <= ?) || ']', '[]') as results, count(*)::int as fetched, ${last}` +
      `${input.extra ? `, ${input.extra.text}` : ''}` +
      ` from (select row_to_json(j)::text as json, row_number() over (order by ${input.keyset.orderBy('r')}) as n, ${cursor}` +
      ` from (${input.rows.text}) as r cross join lateral (select ${input.fields}) as j) as p`,
    values: [input.limit, ...input.cursor.map(() => input.limit), ...(input.extra?.values ?? []), ...input.rows.values],
  };
}

/**
 * Runs a `jsonPage` statement as a named prepared statement (its text is constant per filter shape) and
 * returns the page, with the replica row when `extra` asked for it (`MembershipReplica.readScoped`).
 */
export async function readJsonPage(db: Knex | Knex.Transaction, input: Parameters<typeof jsonPage>[0]): Promise<JsonPage & ReplicaRow> {
  const statement = numbered(jsonPage(input));
  const [row] = await preparedRead<Record<string, unknown>>(db as Knex, statement.text, statement.values);
  return {
    results: row!.results as string,
    fetched: row!.fetched as number,
    last: input.cursor.map((_, i) => row![`c${i}`] as KeyValue),
    member_row: row!.member_row as ReplicaRow['member_row'],
    member_role: row!.member_role as ReplicaRow['member_role'],
  };
}

/** The page of a list that is empty without asking the database. */
export const emptyJsonPage: JsonPage = { results: '[]', fetched: 0, last: [] };
