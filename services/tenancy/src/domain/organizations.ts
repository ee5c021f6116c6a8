// Organizations: create (the actor becomes owner), list, read, rename, delete.
import { randomUUID } from 'node:crypto';
import { type IfMatch, inTransaction, type JsonPage, type KeyValue, notFound, requireIfMatch, type Role } from '@taskflow/shared';
import * as memberships from '../db/memberships';
import * as organizations from '../db/organizations';
import type { Actor, TenancyDeps } from './context';
import { membershipAdded, membershipRemoved, organizationCreated, organizationDeleted, organizationRenamed } from './events';
import { authorize } from './policy';

export interface OrganizationView {
  id: string;
  name: string;
  created_at: Date;
  version: number;
  /** The actor's role. */
  role: Role;
}

export async function createOrganization(deps: TenancyDeps, actor: Actor, { name }: { name: string }): Promise<OrganizationView> {
  return inTransaction(deps.db, async (trx) => {
    const org = await organizations.insertOrganization(trx, { id: randomUUID(), name });
    await memberships.ensureProfile(trx, actor);
    const membership = (await memberships.insertMembership(trx, { organizationId: org.id, userId: actor.id, role: 'owner' }))!;
    const user = (await memberships.profileOf(trx, actor.id))!;
    await deps.outbox.add(
      trx,
      organizationCreated(org, actor),
      membershipAdded({ organizationId: org.id, user, role: 'owner', version: membership.version }, actor),
    );
    return { ...org, role: 'owner' as const };
  });
}

export async function getOrganization(deps: TenancyDeps, actor: Actor, organizationId: string): Promise<OrganizationView> {
  const org = await organizations.organizationForUser(deps.db, organizationId, actor.id);
  authorize(org?.role ?? null, 'organization.view');
  return org!;
}

export async function listOrganizations(deps: TenancyDeps, actor: Actor, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  return organizations.listOrganizationsForUser(deps.db, actor.id, limit, after);
}

export async function renameOrganization(
  deps: TenancyDeps,
  actor: Actor,
  { id: organizationId, name, ifMatch }: { id: string; name: string; ifMatch?: IfMatch },
): Promise<OrganizationView> {
  return inTransaction(deps.db, async (trx) => {
    const org = await organizations.lockOrganization(trx, organizationId);
    const me = org && (await memberships.membershipOf(trx, organizationId, actor.id));
    authorize(me?.role ?? null, 'organization.rename');
    requireIfMatch(ifMatch, org!.version);
    if (org!.name === name) return { ...org!, role: me!.role };
    const renamed = (await organizations.renameOrganization(trx, organizationId, name))!;
    await deps.outbox.add(trx, organizationRenamed(renamed, org!.name, actor));
    return { ...renamed, role: me!.role };
  });
}

/** Deletes the organization with its memberships and invites; every member gets a `removed` event. */
export async function deleteOrganization(deps: TenancyDeps, actor: Actor, { id: organizationId, ifMatch }: { id: string; ifMatch?: IfMatch }): Promise<void> {
  await inTransaction(deps.db, async (trx) => {
    const org = await organizations.lockOrganization(trx, organizationId);
    const me = org && (await memberships.membershipOf(trx, organizationId, actor.id));
    if (!org || !me) throw notFound();
    authorize(me.role, 'organization.delete');
    requireIfMatch(ifMatch, org.version);
    const removed = await memberships.deleteAllMemberships(trx, organizationId);
    await organizations.deleteOrganization(trx, organizationId); // invites go with it (ON DELETE CASCADE)
    await deps.outbox.add(
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
          actor,
        ),
      ),
      organizationDeleted(org, actor),
    );
  });
}
