// Members: list, change a role, remove (yourself = leave). Changes of one organization are serialized
// by locking its row, so the last-owner rule, and the revocation of invites their sender can no longer
// send, hold under concurrency (invite creation and accept take the same lock).
import { type CursorValue, type Knex, type KeyValue, type MembershipFact, notFound, requireIfMatch, type IfMatch, type Role } from '@taskflow/shared';
import * as memberships from '../db/memberships';
import type { MemberRow } from '../db/memberships';
import * as organizations from '../db/organizations';
import { type Caller, enforce, type TenancyContext } from './context';
import { membershipRemoved, membershipRoleChanged } from './events';
import { revokeInvitesBeyondAuthority } from './invite-authority';
import { decide } from './policy';

export type { MemberRow } from '../db/memberships';

export async function listMembers(
  ctx: TenancyContext,
  caller: Caller,
  organizationId: string,
  limit: number,
  after?: readonly KeyValue[],
): Promise<MemberRow[]> {
  const me = await memberships.membershipOf(ctx.db, organizationId, caller.id);
  enforce(decide('view_organization', me?.role ?? null));
  return memberships.listMembers(ctx.db, organizationId, limit, after);
}

export const memberCursor = (m: MemberRow): CursorValue[] => [m.joined_at.toISOString(), m.user_id];

const userOf = (m: MemberRow) => ({ id: m.user_id, email: m.email, first_name: m.first_name, last_name: m.last_name });

/** Locks the organization and loads the caller's and the target's memberships (404 when either is missing). */
async function loadForChange(trx: Knex.Transaction, caller: Caller, organizationId: string, userId: string) {
  const org = await organizations.lockOrganization(trx, organizationId);
  const me = org && (await memberships.membershipOf(trx, organizationId, caller.id));
  if (!org || !me) throw notFound();
  const target = await memberships.memberOf(trx, organizationId, userId);
  if (!target) throw notFound();
  return { org, me, target, owners: await memberships.countOwners(trx, organizationId) };
}

export async function changeMemberRole(
  ctx: TenancyContext,
  caller: Caller,
  organizationId: string,
  userId: string,
  role: Role,
  ifMatch?: IfMatch,
): Promise<MemberRow> {
  return ctx.db.transaction(async (trx) => {
    const { org, me, target, owners } = await loadForChange(trx, caller, organizationId, userId);
    enforce(decide('change_role', me.role, { role: target.role, newRole: role, owners }));
    requireIfMatch(ifMatch, target.version);
    if (target.role === role) return target;
    const changed = await memberships.changeRole(trx, organizationId, userId, role);
    await ctx.outbox.add(trx, membershipRoleChanged({ organizationId, user: userOf(target), role, version: changed.version }, target.role, caller));
    await revokeInvitesBeyondAuthority(ctx, trx, org, userId, role, caller);
    return { ...target, role, version: changed.version };
  });
}

export async function removeMember(
  ctx: TenancyContext,
  caller: Caller,
  organizationId: string,
  userId: string,
  ifMatch?: IfMatch,
): Promise<void> {
  await ctx.db.transaction(async (trx) => {
    const { org, me, target, owners } = await loadForChange(trx, caller, organizationId, userId);
    const leaving = userId === caller.id;
    enforce(leaving ? decide('leave', me.role, { owners }) : decide('remove_member', me.role, { role: target.role, owners }));
    requireIfMatch(ifMatch, target.version);
    const removed = await memberships.deleteMembership(trx, organizationId, userId);
    await ctx.outbox.add(
      trx,
      membershipRemoved({ organizationId, user: userOf(target), role: removed.role, version: removed.version }, leaving ? 'left' : 'removed', caller),
    );
    await revokeInvitesBeyondAuthority(ctx, trx, org, userId, null, caller);
  });
}

/** For other services' replicas: the user's current membership, or undefined. */
export async function membershipFact(ctx: TenancyContext, organizationId: string, userId: string): Promise<MembershipFact | undefined> {
  const m = await memberships.membershipOf(ctx.db, organizationId, userId);
  return m && { organization_id: m.organization_id, user_id: m.user_id, role: m.role, version: m.version };
}
