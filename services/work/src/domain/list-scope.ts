// The organizations a list reads: the one asked for (after checking the caller belongs to it), else all of the caller's.
import { oneOrganization, type Sql, sqlOf } from '@taskflow/shared';
import type { Actor, WorkContext } from './model';

export async function organizationsToList(ctx: WorkContext, actor: Actor, organization: string | undefined): Promise<Sql> {
  if (organization === undefined) return sqlOf(ctx.replica.organizationsOf(actor.id));
  await ctx.replica.requireRole(actor.id, organization);
  return oneOrganization(organization);
}
