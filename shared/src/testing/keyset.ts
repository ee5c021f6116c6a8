// SQL pieces a test composes with the statements of shared/src/db/keyset.ts (to run or EXPLAIN them);
// the services build their own from the membership replica and never need these.
import type { Knex } from 'knex';
import type { Sql } from '../db/keyset';

/** The `organizations` of `acrossOrganizations` for one organization, without a membership lookup. */
export const oneOrganization = (organizationId: string): Sql => ({ text: 'select ?::uuid as organization_id', values: [organizationId] });

/** The text and values of a knex query, to compose with keyset's SQL. */
export function sqlOf(query: Knex.QueryBuilder | Knex.Raw): Sql {
  const { sql, bindings } = query.toSQL();
  return { text: sql, values: [...bindings] };
}

/** Runs `sql` through knex and returns its rows. */
export async function rowsOf<R>(db: Knex | Knex.Transaction, sql: Sql): Promise<R[]> {
  const result = (await db.raw(sql.text, sql.values)) as { rows: R[] };
  return result.rows;
}
