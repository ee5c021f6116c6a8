// The role table of API.md, cell by cell: every action x caller role (or non-member) x target role.
import type { Role } from '@taskflow/shared';
import { type Action, type Decision, decide, invitesBeyondAuthority } from '../src/domain/policy';

type Caller = Role | null;
const callers: Caller[] = ['owner', 'admin', 'member', null];
const roles: Role[] = ['owner', 'admin', 'member'];
const name = (c: Caller) => c ?? 'non-member';

// Columns: owner, admin, member, non-member.
const A = 'allow', F = 'forbidden', N = 'not_found', L = 'last_owner';
type Row = [Decision, Decision, Decision, Decision];

const untargeted: Record<'view_organization' | 'rename_organization' | 'delete_organization' | 'list_invites', Row> = {
  view_organization: [A, A, A, N],
  rename_organization: [A, A, F, N],
  delete_organization: [A, F, F, N],
  list_invites: [A, A, F, N],
};

// By the invite's role.
const inviteActions: Record<'create_invite' | 'revoke_invite', Record<Role, Row>> = {
  create_invite: { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
  revoke_invite: { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
};

// change_role by [target role][new role], with two owners (so the last-owner rule never applies).
const changeRole: Record<Role, Record<Role, Row>> = {
  owner: { owner: [A, F, F, N], admin: [A, F, F, N], member: [A, F, F, N] },
  admin: { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
  member: { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] },
};

// remove_member by target role, two owners.
const removeMember: Record<Role, Row> = { owner: [A, F, F, N], admin: [A, A, F, N], member: [A, A, F, N] };

describe('policy.decide', () => {
  describe.each(Object.entries(untargeted))('%s', (action, row) => {
    it.each(callers.map((c, i) => [name(c), row[i], c] as const))('%s -> %s', (_n, expected, caller) => {
      expect(decide(action as Action, caller)).toBe(expected);
    });
  });

  describe.each(Object.entries(inviteActions))('%s', (action, byRole) => {
    const cases = roles.flatMap((role) => callers.map((c, i) => [name(c), role, byRole[role][i], c] as const));
    it.each(cases)('%s on a %s invite -> %s', (_n, role, expected, caller) => {
      expect(decide(action as Action, caller, { role })).toBe(expected);
    });
  });

  describe('change_role (two owners)', () => {
    const cases = roles.flatMap((role) => roles.flatMap((newRole) => callers.map((c, i) => [name(c), role, newRole, changeRole[role][newRole][i], c] as const)));
    it.each(cases)('%s changing a %s to %s -> %s', (_n, role, newRole, expected, caller) => {
      expect(decide('change_role', caller, { role, newRole, owners: 2 })).toBe(expected);
    });
  });

  describe('remove_member (two owners)', () => {
    const cases = roles.flatMap((role) => callers.map((c, i) => [name(c), role, removeMember[role][i], c] as const));
    it.each(cases)('%s removing a %s -> %s', (_n, role, expected, caller) => {
      expect(decide('remove_member', caller, { role, owners: 2 })).toBe(expected);
    });
  });

  describe('leave', () => {
    it.each(callers.map((c, i) => [name(c), ([A, A, A, N] as Row)[i], c] as const))('%s with two owners -> %s', (_n, expected, caller) => {
      expect(decide('leave', caller, { owners: 2 })).toBe(expected);
    });
    it.each(callers.map((c, i) => [name(c), ([L, A, A, N] as Row)[i], c] as const))('%s when there is one owner -> %s', (_n, expected, caller) => {
      expect(decide('leave', caller, { owners: 1 })).toBe(expected);
    });
  });

  describe('the last owner is never lost', () => {
    it('refuses to demote the only owner, even by themselves', () => {
      expect(decide('change_role', 'owner', { role: 'owner', newRole: 'admin', owners: 1 })).toBe(L);
      expect(decide('change_role', 'owner', { role: 'owner', newRole: 'member', owners: 1 })).toBe(L);
    });
    it('allows keeping the only owner an owner', () => {
      expect(decide('change_role', 'owner', { role: 'owner', newRole: 'owner', owners: 1 })).toBe(A);
    });
    it('refuses to remove the only owner', () => {
      expect(decide('remove_member', 'owner', { role: 'owner', owners: 1 })).toBe(L);
    });
    it('answers forbidden before last_owner for an admin acting on the only owner', () => {
      expect(decide('change_role', 'admin', { role: 'owner', newRole: 'member', owners: 1 })).toBe(F);
      expect(decide('remove_member', 'admin', { role: 'owner', owners: 1 })).toBe(F);
    });
    it('does not apply to non-owners when there is one owner', () => {
      expect(decide('remove_member', 'owner', { role: 'admin', owners: 1 })).toBe(A);
      expect(decide('change_role', 'owner', { role: 'member', newRole: 'admin', owners: 1 })).toBe(A);
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
    expect(() => decide('change_role', 'owner', { role: 'admin' })).toThrow(/newRole/);
    expect(() => decide('create_invite', 'owner')).toThrow(/role/);
  });
});
