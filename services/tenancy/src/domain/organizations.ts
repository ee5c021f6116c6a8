// Organizations: create (the caller becomes owner), list, read, rename, delete.
import { randomUUID } from 'node:crypto';
import { type CursorValue, type Knex, type KeyValue, notFound, requireIfMatch, type IfMatch, type Role } from '@taskflow/shared';
import * as memberships from '../db/memberships';
import * as organizations from '../db/organizations';
import { type Caller, enforce, type TenancyContext } from './context';
import { membershipAdded, membershipRemoved, organizationCreated, organizationDeleted, organizationRenamed } from './events';
import { decide } from './policy';

export interface OrganizationView {
  id: string;
  name: string;
  created_at: Date;
  version: number;
  /** The caller's role. */
  role: Role;
}

export async function createOrganization(ctx: TenancyContext, trx: Knex.Transaction, caller: Caller, name: string): Promise<OrganizationView> {
  const org = await organizations.insertOrganization(trx, { id: randomUUID(), name });
  await memberships.ensureProfile(trx, caller);
  const membership = (await memberships.insertMembership(trx, { organizationId: org.id, userId: caller.id, role: 'owner' }))!;
  const user = (await memberships.profileOf(trx, caller.id))!;
  await ctx.outbox.add(
    trx,
    organizationCreated(org, caller),
    membershipAdded({ organizationId: org.id, user, role: 'owner', version: membership.version }, caller),
  );
  return { ...org, role: 'owner' };
}

export async function getOrganization(ctx: TenancyContext, caller: Caller, organizationId: string): Promise<OrganizationView> {
  const org = await organizations.organizationForUser(ctx.db, organizationId, caller.id);
  enforce(decide('view_organization', org?.role ?? null));
  return org!;
}

export async function listOrganizations(ctx: TenancyContext, caller: Caller, limit: number, after?: readonly KeyValue[]): Promise<OrganizationView[]> {
  return organizations.listOrganizationsForUser(ctx.db, caller.id, limit, after);
}

export const organizationCursor = (org: OrganizationView): CursorValue[] => [org.created_at.toISOString(), org.id];

export async function renameOrganization(
  ctx: TenancyContext,
  caller: Caller,
  organizationId: string,
  name: string,
  ifMatch?: IfMatch,
): Promise<OrganizationView> {
  return ctx.db.transaction(async (trx) => {
    const org = await organizations.lockOrganization(trx, organizationId);
    const me = org && (await memberships.membershipOf(trx, organizationId, caller.id));
    enforce(decide('rename_organization', me?.role ?? null));
    requireIfMatch(ifMatch, org!.version);
    if (org!.name === name) return { ...org!, role: me!.role };
    const renamed = (await organizations.renameOrganization(trx, organizationId, name))!;
    await ctx.outbox.add(trx, organizationRenamed(renamed, org!.name, caller));
    return { ...renamed, role: me!.role };
  });
}

/** Deletes the organization with its memberships and invites; every member gets a `removed` event. */
export async function deleteOrganization(ctx: TenancyContext, caller: Caller, organizationId: string, ifMatch?: IfMatch): Promise<void> {
  await ctx.db.transaction(async (trx) => {
    const org = await organizations.lockOrganization(trx, organizationId);
    const me = org && (await memberships.membershipOf(trx, organizationId, caller.id));
    if (!org || !me) throw notFound();
    enforce(decide('delete_organization', me.role));
    requireIfMatch(ifMatch, org.version);
    const removed = await memberships.deleteAllMemberships(trx, organizationId);
    await organizations.deleteOrganization(trx, organizationId); // invites go with it (ON DELETE CASCADE)
    await ctx.outbox.add(
      trx,
      ...removed.map((m) =>
        membershipRemoved(
          {
            organizationId,
            user: { id: m.user_id, email: m.email, first_name: m.first_name, last_name: m.last_name },
            role: m.role,
            version: m.version,
          },
          'organization_deleted',
          caller,
        ),
      ),
      organizationDeleted(org, caller),
    );
  });
}
