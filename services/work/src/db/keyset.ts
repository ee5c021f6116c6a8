// Keyset pages read from one index per organization (a LATERAL scan each), so a page costs the
// same however many rows precede it and however many rows the organization holds.
import type { Knex } from '@taskflow/shared';

export interface Keyset {
  /** Sort column (never NULL); ties are broken by `id` in the same direction. */
  column: string;
  descending: boolean;
  /** The last row of the previous page: [sort value, id]. */
  after?: [string | number, string];
}

/**
 * Restricts `query` (on `table`) to rows after `keyset.after` and orders it. A row comparison, unlike
 * an OR of column comparisons, is an index bound: the scan starts at the cursor instead of filtering
 * every row before it.
 */
export function applyKeyset(query: Knex.QueryBuilder, table: string, keyset: Keyset): Knex.QueryBuilder {
  const direction = keyset.descending ? 'desc' : 'asc';
  if (keyset.after) {
    query.whereRaw(`(??, ??) ${keyset.descending ? '<' : '>'} (?, ?)`, [`${table}.${keyset.column}`, `${table}.id`, keyset.after[0], keyset.after[1]]);
  }
  return query.orderBy([
    { column: `${table}.${keyset.column}`, order: direction },
    { column: `${table}.id`, order: direction },
  ]);
}

/**
 * Runs `perOrganization` (a query on `table` that must compare `table.organization_id` with
 * `o.organization_id`) once per organization of `organizations` and merges the pages.
 */
export function acrossOrganizations(
  db: Knex,
  organizations: Knex.QueryBuilder,
  perOrganization: Knex.QueryBuilder,
  keyset: Keyset,
  limit: number,
): Knex.QueryBuilder {
  const direction = keyset.descending ? 'desc' : 'asc';
  return db
    .select('page.*')
    .from(organizations.as('o'))
    .joinRaw('cross join lateral (?) as page', [perOrganization as unknown as Knex.Raw])
    .orderBy([
      { column: `page.${keyset.column}`, order: direction },
      { column: 'page.id', order: direction },
    ])
    .limit(limit);
}

/** The organization subquery for one organization the caller was checked to belong to. */
export const oneOrganization = (db: Knex, organizationId: string) => db.select(db.raw('?::uuid as organization_id', [organizationId]));
