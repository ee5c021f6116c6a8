// Who may do what in an organization: API.md's role table, as one pure function.
import type { Role } from '@taskflow/shared';

export type Action =
  | 'view_organization'
  | 'rename_organization'
  | 'delete_organization'
  | 'list_invites'
  | 'create_invite'
  | 'revoke_invite'
  | 'change_role'
  | 'remove_member'
  | 'leave';

export interface Target {
  /** create_invite / revoke_invite: the invite's role. change_role / remove_member / leave: the member's current role. */
  role?: Role;
  /** change_role: the role asked for. */
  newRole?: Role;
  /** change_role / remove_member / leave: how many owners the organization has now. */
  owners?: number;
}

/** `not_found` for non-members (the organization's existence is not revealed), `last_owner` is a 409. */
export type Decision = 'allow' | 'not_found' | 'forbidden' | 'last_owner';

export const ROLES: readonly Role[] = ['owner', 'admin', 'member'];

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
export function decide(action: Action, actor: Role | null, target: Target = {}): Decision {
  if (actor === null) return 'not_found';
  const privileged = actor === 'owner' || actor === 'admin';
  switch (action) {
    case 'view_organization':
      return 'allow';
    case 'rename_organization':
    case 'list_invites':
      return privileged ? 'allow' : 'forbidden';
    case 'delete_organization':
      return actor === 'owner' ? 'allow' : 'forbidden';
    case 'create_invite':
    case 'revoke_invite':
      return withinCeiling(actor, required(target.role, 'role')) ? 'allow' : 'forbidden';
    case 'change_role': {
      const role = required(target.role, 'role');
      const newRole = required(target.newRole, 'newRole');
      if (!withinCeiling(actor, role) || !withinCeiling(actor, newRole)) return 'forbidden';
      return losesLastOwner(role, newRole === 'owner', required(target.owners, 'owners')) ? 'last_owner' : 'allow';
    }
    case 'remove_member': {
      const role = required(target.role, 'role');
      if (!withinCeiling(actor, role)) return 'forbidden';
      return losesLastOwner(role, false, required(target.owners, 'owners')) ? 'last_owner' : 'allow';
    }
    case 'leave':
      return losesLastOwner(actor, false, required(target.owners, 'owners')) ? 'last_owner' : 'allow';
  }
}

/**
 * An invite carries its sender's authority: the invite roles a sender whose role is now `role` (null: no
 * longer a member) could not send. Their pending invites of these roles must not outlive that change.
 */
export function invitesBeyondAuthority(role: Role | null): Role[] {
  return ROLES.filter((invited) => decide('create_invite', role, { role: invited }) !== 'allow');
}
