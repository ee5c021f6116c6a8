// Organizations as work sees them: the ones tenancy deleted, and the lock that orders creates against a deletion.
import type { Knex } from '@taskflow/shared';

const DELETED = 'work.deleted_organizations';

/** One lock per organization: creates hold it shared while they write, the deletion takes it exclusively. */
const lockKey = (organizationId: string) => `work.organization.${organizationId}`;

/**
 * Inside a create's transaction: waits for a deletion being applied, then keeps the next one out
 * until this transaction ends. False when the organization is already deleted. (The check is its own
 * statement: in READ COMMITTED it then sees a deletion that committed while this one waited.)
 */
export async function holdOrganizationOpen(trx: Knex.Transaction, organizationId: string): Promise<boolean> {
  await trx.raw('select pg_advisory_xact_lock_shared(hashtextextended(?, 0))', [lockKey(organizationId)]);
  const row = await trx(DELETED).select('organization_id').where({ organization_id: organizationId }).first();
  return row === undefined;
}

/**
 * Records the deletion once every create already writing into the organization has committed (their
 * rows are then visible to the deletion's next statements) and refuses every later one.
 */
export async function closeOrganization(trx: Knex.Transaction, organizationId: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [lockKey(organizationId)]);
  await trx(DELETED).insert({ organization_id: organizationId }).onConflict('organization_id').ignore();
}
