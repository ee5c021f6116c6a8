// Organizations: every SQL statement on tenancy.organizations.
import { isoTimestamp, type JsonPage, type KeyValue, type Knex, keyset, readJsonPage, type Role } from '@taskflow/shared';

type Db = Knex | Knex.Transaction;

export interface OrganizationRow {
  id: string;
  name: string;
  version: number;
  created_at: Date;
}

export interface OrganizationForUser extends OrganizationRow {
  role: Role;
}

const columns = ['o.id', 'o.name', 'o.version', 'o.created_at', 'm.role'];

export async function insertOrganization(trx: Knex.Transaction, row: { id: string; name: string }): Promise<OrganizationRow> {
  const [created] = await trx('organizations').insert(row).returning(['id', 'name', 'version', 'created_at']);
  return created as OrganizationRow;
}

/** The organization with the user's role, or undefined when the user is not a member (or it does not exist). */
export async function organizationForUser(db: Db, organizationId: string, userId: string): Promise<OrganizationForUser | undefined> {
  return db({ o: 'organizations' })
    .join({ m: 'memberships' }, 'm.organization_id', 'o.id')
    .where({ 'o.id': organizationId, 'm.user_id': userId })
    .first(columns);
}

/**
 * Locks the organization row for the rest of the transaction: membership changes of one organization
 * run one at a time, so the last-owner rule holds under concurrency. Does not block inserts that
 * only reference it (FOR NO KEY UPDATE).
 */
export async function lockOrganization(trx: Knex.Transaction, organizationId: string): Promise<OrganizationRow | undefined> {
  return trx('organizations').where({ id: organizationId }).forNoKeyUpdate().first(['id', 'name', 'version', 'created_at']);
}

/** Oldest first (ties by id). */
const byCreation = keyset([
  { column: 'created_at', descending: false },
  { column: 'id', descending: false },
]);

/**
 * One page of `limit` organizations of the user (oldest first, each with the user's role), after
 * `[created_at, id]`, written by PostgreSQL as `presentOrganization` writes one (`jsonPage`).
 */
export async function listOrganizationsForUser(db: Db, userId: string, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  const bound = after ? byCreation.after('o', after) : undefined;
  return readJsonPage(db, {
    rows: {
      text: `select o.id, o.name, o.created_at, m.role from organizations as o join memberships as m on m.organization_id = o.id where m.user_id = ?${bound ? ` and ${bound.text}` : ''} order by ${byCreation.orderBy('o')} limit ?`,
      values: [userId, ...(bound?.values ?? []), limit + 1],
    },
    keyset: byCreation,
    fields: `r.id, r.name, ${isoTimestamp('r.created_at')} as created_at, r.role`,
    cursor: [isoTimestamp('r.created_at'), 'r.id'],
    limit,
  });
}

/** Renames when `expectedVersion` (if given) still matches; returns the new row, or undefined on a version mismatch. */
export async function renameOrganization(
  trx: Knex.Transaction,
  organizationId: string,
  name: string,
  expectedVersion?: number,
): Promise<OrganizationRow | undefined> {
  const query = trx('organizations')
    .where({ id: organizationId })
    .update({ name, version: trx.raw('version + 1') })
    .returning(['id', 'name', 'version', 'created_at']);
  if (expectedVersion !== undefined) query.where({ version: expectedVersion });
  const [row] = await query;
  return row as OrganizationRow | undefined;
}

export async function deleteOrganization(trx: Knex.Transaction, organizationId: string): Promise<void> {
  await trx('organizations').where({ id: organizationId }).delete();
}
