// Members: list, change a role, remove (yourself = leave). Changes of one organization are serialized
// by locking its row, so the last-owner rule, and the revocation of invites their sender can no longer
// send, hold under concurrency (invite creation and accept take the same lock).
import { type IfMatch, inTransaction, type JsonPage, type KeyValue, type Knex, type MembershipFact, notFound, requireIfMatch, type Role } from '@taskflow/shared';
import * as memberships from '../db/memberships';
import type { MemberRow } from '../db/memberships';
import * as organizations from '../db/organizations';
import type { Actor, TenancyDeps } from './context';
import { membershipRemoved, membershipRoleChanged } from './events';
import { revokeInvitesBeyondAuthority } from './invite-authority';
import { authorize } from './policy';

export type { MemberRow } from '../db/memberships';

export async function listMembers(
  deps: TenancyDeps,
  actor: Actor,
  organizationId: string,
  limit: number,
  after?: readonly KeyValue[],
): Promise<JsonPage> {
  const me = await memberships.membershipOf(deps.db, organizationId, actor.id);
  authorize(me?.role ?? null, 'organization.view');
  return memberships.listMembers(deps.db, organizationId, limit, after);
}

const userOf = (m: MemberRow) => ({ id: m.user_id, email: m.email, first_name: m.first_name, last_name: m.last_name });

/** Locks the organization and loads the actor's and the target's memberships (404 when either is missing). */
async function loadForChange(trx: Knex.Transaction, actor: Actor, organizationId: string, userId: string) {
  const org = await organizations.lockOrganization(trx, organizationId);
  const me = org && (await memberships.membershipOf(trx, organizationId, actor.id));
  if (!org || !me) throw notFound();
  const target = await memberships.memberOf(trx, organizationId, userId);
  if (!target) throw notFound();
  return { org, me, target, owners: await memberships.countOwners(trx, organizationId) };
}

export interface RoleChange {
  organizationId: string;
  userId: string;
  role: Role;
  ifMatch?: IfMatch;
}

export async function changeMemberRole(deps: TenancyDeps, actor: Actor, { organizationId, userId, role, ifMatch }: RoleChange): Promise<MemberRow> {
  return inTransaction(deps.db, async (trx) => {
    const { org, me, target, owners } = await loadForChange(trx, actor, organizationId, userId);
    authorize(me.role, 'member.change_role', { role: target.role, newRole: role, owners });
    requireIfMatch(ifMatch, target.version);
    if (target.role === role) return target;
    const changed = await memberships.changeRole(trx, organizationId, userId, role);
    await deps.outbox.add(trx, membershipRoleChanged({ organizationId, user: userOf(target), role, version: changed.version }, target.role, actor));
    await revokeInvitesBeyondAuthority(deps, trx, org, userId, role, actor);
    return { ...target, role, version: changed.version };
  });
}

export async function removeMember(
  deps: TenancyDeps,
  actor: Actor,
  { organizationId, userId, ifMatch }: { organizationId: string; userId: string; ifMatch?: IfMatch },
): Promise<void> {
  await inTransaction(deps.db, async (trx) => {
    const { org, me, target, owners } = await loadForChange(trx, actor, organizationId, userId);
    const leaving = userId === actor.id;
    if (leaving) authorize(me.role, 'member.leave', { owners });
    else authorize(me.role, 'member.remove', { role: target.role, owners });
    requireIfMatch(ifMatch, target.version);
    const removed = await memberships.deleteMembership(trx, organizationId, userId);
    await deps.outbox.add(
      trx,
      membershipRemoved({ organizationId, user: userOf(target), role: removed.role, version: removed.version }, leaving ? 'left' : 'removed', actor),
    );
    await revokeInvitesBeyondAuthority(deps, trx, org, userId, null, actor);
  });
}

/** For other services' replicas: the user's current membership, or undefined. */
export async function membershipFact(deps: TenancyDeps, organizationId: string, userId: string): Promise<MembershipFact | undefined> {
  const m = await memberships.membershipOf(deps.db, organizationId, userId);
  return m && { organization_id: m.organization_id, user_id: m.user_id, role: m.role, version: m.version };
}
