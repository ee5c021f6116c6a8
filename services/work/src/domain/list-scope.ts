// The organizations a list reads: the one asked for (after checking the caller belongs to it), else all of the caller's.
import { oneOrganization, type Sql, sqlOf } from '@taskflow/shared';
import type { Actor, WorkDeps } from './model';

export async function organizationsToList(deps: WorkDeps, actor: Actor, organization: string | undefined): Promise<Sql> {
  if (organization === undefined) return sqlOf(deps.replica.organizationsOf(actor.id));
  await deps.replica.requireRole(actor.id, organization);
  return oneOrganization(organization);
}
