// Who may do what in an organization: API.md's role table, as one pure function `can(actor, action, resource)`.
import { conflict, forbidden, notFound, type Role } from '@taskflow/shared';

export type TenancyAction =
  | 'organization.view'
  | 'organization.rename'
  | 'organization.delete'
  | 'invite.list'
  | 'invite.create'
  | 'invite.revoke'
  | 'member.change_role'
  | 'member.remove'
  | 'member.leave';

export interface TenancyResource {
  /** invite.create / invite.revoke: the invite's role. member.change_role / member.remove: the member's current role. */
  role?: Role;
  /** member.change_role: the role asked for. */
  newRole?: Role;
  /** member.change_role / member.remove / member.leave: how many owners the organization has now. */
  owners?: number;
}

/** `not_found` for non-members (the organization's existence is not revealed), `last_owner` is a 409. */
export type Decision = 'allow' | 'not_found' | 'forbidden' | 'last_owner';

const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

/** Roles an actor may hand out, and act on: admins never touch owners; owners touch anyone. */
function withinCeiling(actor: Role, role: Role): boolean {
  if (actor === 'owner') return true;
  if (actor === 'admin') return role === 'admin' || role === 'member';
  return false;
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`policy: ${name} is required for this action`);
  return value;
}

/** Would the organization be left without an owner if a member with `role` stopped being one? */
function losesLastOwner(role: Role, stillOwner: boolean, owners: number): boolean {
  return role === 'owner' && !stillOwner && owners <= 1;
}

/** `actor` is the caller's role in the organization, or null when the caller is not a member. */
export function can(actor: Role | null, action: TenancyAction, target: TenancyResource = {}): Decision {
  if (actor === null) return 'not_found';
  const privileged = actor === 'owner' || actor === 'admin';
  switch (action) {
    case 'organization.view':
      return 'allow';
    case 'organization.rename':
    case 'invite.list':
      return privileged ? 'allow' : 'forbidden';
    case 'organization.delete':
      return actor === 'owner' ? 'allow' : 'forbidden';
    case 'invite.create':
    case 'invite.revoke':
      return withinCeiling(actor, required(target.role, 'role')) ? 'allow' : 'forbidden';
    case 'member.change_role': {
      const role = required(target.role, 'role');
      const newRole = required(target.newRole, 'newRole');
      if (!withinCeiling(actor, role) || !withinCeiling(actor, newRole)) return 'forbidden';
      return losesLastOwner(role, newRole === 'owner', required(target.owners, 'owners')) ? 'last_owner' : 'allow';
    }
    case 'member.remove': {
      const role = required(target.role, 'role');
      if (!withinCeiling(actor, role)) return 'forbidden';
      return losesLastOwner(role, false, required(target.owners, 'owners')) ? 'last_owner' : 'allow';
    }
    case 'member.leave':
      return losesLastOwner(actor, false, required(target.owners, 'owners')) ? 'last_owner' : 'allow';
  }
}

/**
 * An invite carries its sender's authority: the invite roles a sender whose role is now `role` (null: no
 * longer a member) could not send. Their pending invites of these roles must not outlive that change.
 */
export function invitesBeyondAuthority(role: Role | null): Role[] {
  return ROLES.filter((invited) => can(role, 'invite.create', { role: invited }) !== 'allow');
}

export const lastOwner = () => conflict('An organization must always keep at least one owner.', 'last_owner');

/** Throws the error the caller sees unless `can` allows: 404 to a non-member, 403, or 409 `last_owner`. */
export function authorize(actor: Role | null, action: TenancyAction, resource: TenancyResource = {}): void {
  switch (can(actor, action, resource)) {
    case 'allow':
      return;
    case 'not_found':
      throw notFound();
    case 'forbidden':
      throw forbidden();
    case 'last_owner':
      throw lastOwner();
  }
}
