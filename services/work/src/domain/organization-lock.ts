// Inside a create's write: the organization still exists and the actor is still a member, until commit.
import type { Knex, Role } from '@taskflow/shared';
import { holdOrganizationOpen } from '../db/organizations';
import { lockedRoleOf } from '../db/tasks';

/**
 * The actor's role, read again under locks inside the write: null when the organization's deletion
 * was applied (or the actor's membership removed) since the check before the transaction. A deletion
 * arriving now waits for this commit and then deletes what it wrote, so nothing is left behind.
 */
export async function lockOrganizationForCreate(trx: Knex.Transaction, organization: string, actorId: string): Promise<Role | null> {
  if (!(await holdOrganizationOpen(trx, organization))) return null;
  return (await lockedRoleOf(trx, organization, actorId)) as Role | null;
}
