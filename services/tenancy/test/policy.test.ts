// The role table of API.md, cell by cell: every action x caller role (or non-member) x target role.
import type { Role } from '@taskflow/shared';
import { can, type Decision, invitesBeyondAuthority, type TenancyAction } from '../src/domain/policy';

type Caller = Role | null;
const callers: Caller[] = ['owner', 'admin', 'member', null];
const roles: Role[] = ['owner', 'admin', 'member'];
const name = (c: Caller) => c ?? 'non-member';

// Columns: owner, admin, member, non-member.
const A = 'allow', F = 'forbidden', N = 'not_found', L = 'last_owner';
type Row = [Decision, Decision, Decision, Decision];

const untargeted: Record<'organization.view' | 'organization.rename' | 'organization.delete' | 'invite.list', Row> = {
  'organization.view': [A, A, A, N],
  'organization.rename': [A, A, F, N],
  'organization.delete': [A, F, F, N],
  'invite.list': [A, A, F, N],
};

// By the invite's role.
const inviteActions: Record<'invite.create' | 'invite.revoke', Record<Role, Row>> = {
  'invite.create': { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
  'invite.revoke': { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
};

// change_role by [target role][new role], with two owners (so the last-owner rule never applies).
const changeRole: Record<Role, Record<Role, Row>> = {
  owner: { owner: [A, F, F, N], admin: [A, F, F, N], member: [A, F, F, N] },
  admin: { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
  member: { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
};

// remove_member by target role, two owners.
const removeMember: Record<Role, Row> = { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] };

describe('policy.can', () => {
  describe.each(Object.entries(untargeted))('%s', (action, row) => {
    it.each(callers.map((c, i) => [name(c), row[i], c] as const))('%s -> %s', (_n, expected, caller) => {
      expect(can(caller, action as TenancyAction)).toBe(expected);
    });
  });

  describe.each(Object.entries(inviteActions))('%s', (action, byRole) => {
    const cases = roles.flatMap((role) => callers.map((c, i) => [name(c), role, byRole[role][i], c] as const));
    it.each(cases)('%s on a %s invite -> %s', (_n, role, expected, caller) => {
      expect(can(caller, action as TenancyAction, { role })).toBe(expected);
    });
  });

  describe('member.change_role (two owners)', () => {
    const cases = roles.flatMap((role) => roles.flatMap((newRole) => callers.map((c, i) => [name(c), role, newRole, changeRole[role][newRole][i], c] as const)));
    it.each(cases)('%s changing a %s to %s -> %s', (_n, role, newRole, expected, caller) => {
      expect(can(caller, 'member.change_role', { role, newRole, owners: 2 })).toBe(expected);
    });
  });

  describe('member.remove (two owners)', () => {
    const cases = roles.flatMap((role) => callers.map((c, i) => [name(c), role, removeMember[role][i], c] as const));
    it.each(cases)('%s removing a %s -> %s', (_n, role, expected, caller) => {
      expect(can(caller, 'member.remove', { role, owners: 2 })).toBe(expected);
    });
  });

  describe('member.leave', () => {
    it.each(callers.map((c, i) => [name(c), ([A, A, A, N] as Row)[i], c] as const))('%s with two owners -> %s', (_n, expected, caller) => {
      expect(can(caller, 'member.leave', { owners: 2 })).toBe(expected);
    });
    it.each(callers.map((c, i) => [name(c), ([L, A, A, N] as Row)[i], c] as const))('%s when there is one owner -> %s', (_n, expected, caller) => {
      expect(can(caller, 'member.leave', { owners: 1 })).toBe(expected);
    });
  });

  describe('the last owner is never lost', () => {
    it('refuses to demote the only owner, even by themselves', () => {
      expect(can('owner', 'member.change_role', { role: 'owner', newRole: 'admin', owners: 1 })).toBe(L);
      expect(can('owner', 'member.change_role', { role: 'owner', newRole: 'member', owners: 1 })).toBe(L);
    });
    it('allows keeping the only owner an owner', () => {
      expect(can('owner', 'member.change_role', { role: 'owner', newRole: 'owner', owners: 1 })).toBe(A);
    });
    it('refuses to remove the only owner', () => {
      expect(can('owner', 'member.remove', { role: 'owner', owners: 1 })).toBe(L);
    });
    it('answers forbidden before last_owner for an admin acting on the only owner', () => {
      expect(can('admin', 'member.change_role', { role: 'owner', newRole: 'member', owners: 1 })).toBe(F);
      expect(can('admin', 'member.remove', { role: 'owner', owners: 1 })).toBe(F);
    });
    it('does not apply to non-owners when there is one owner', () => {
      expect(can('owner', 'member.remove', { role: 'admin', owners: 1 })).toBe(A);
      expect(can('owner', 'member.change_role', { role: 'member', newRole: 'admin', owners: 1 })).toBe(A);
    });
  });

  describe('invitesBeyondAuthority: the invite roles a sender with that role could no longer send', () => {
    const expected: Array<[Caller, Role[]]> = [
      ['owner', []],
      ['admin', ['owner']],
      ['member', ['owner', 'admin', 'member']],
      [null, ['owner', 'admin', 'member']],
    ];
    it.each(expected.map(([c, r]) => [name(c), r, c] as const))('%s -> %j', (_n, beyond, caller) => {
      expect(invitesBeyondAuthority(caller)).toEqual(beyond);
    });
  });

  it('throws when a targeted action is asked without its target (a programming error, never a silent allow)', () => {
    expect(() => can('owner', 'member.change_role', { role: 'admin' })).toThrow(/newRole/);
    expect(() => can('owner', 'invite.create')).toThrow(/role/);
  });
});
