// Security findings 5 and 6 through the gateway: an invite carries its sender's authority. A removed or
// demoted sender's invites stop working (and the activity log says they were revoked), an admin cannot
// replace an owner's owner-role invite, and another organization's admin cannot see or touch any of it.
import { eventually } from '@taskflow/shared/testing';
import { type Account, newAccount, startSystem, type System } from './system';

const WAIT = 10_000;

describe('invite authority through the gateway', () => {
  let system: System;
  let owner: Account;
  let admin: Account;
  let otherAdmin: Account;

  beforeAll(async () => {
    system = await startSystem();
    [owner, admin, otherAdmin] = await Promise.all([newAccount(system, 'Olga'), newAccount(system, 'Abel'), newAccount(system, 'Zed')]);
  });
  afterAll(() => system?.close());

  /** A fresh organization owned by `owner`, with `members` joined by invitation at their roles. */
  async function organization(members: Array<[Account, 'owner' | 'admin' | 'member']>): Promise<string> {
    const created = await owner.call('POST', '/api/v1/organizations/', { name: `Authority ${Date.now().toString(36)}` });
    expect(created.status).toBe(201);
    for (const [account, role] of members) {
      const sent = await owner.call('POST', '/api/v1/invites/', { organization: created.body.id, email: account.email, role });
      expect(sent.status).toBe(201);
      expect((await account.call('POST', `/api/v1/invites/accept/${sent.body.token}/`)).status).toBe(200);
    }
    return created.body.id;
  }

  const invite = async (by: Account, org: string, email: string, role: string) => {
    const res = await by.call('POST', '/api/v1/invites/', { organization: org, email, role });
    expect({ role, status: res.status }).toEqual({ role, status: 201 });
    return res.body as { id: string; token: string };
  };
  const statusesOf = async (org: string, ids: string[]) => {
    const res = await owner.call('GET', `/api/v1/invites/?organization=${org}&limit=200`);
    expect(res.status).toBe(200);
    return ids.map((id) => res.body.results.find((i: { id: string }) => i.id === id)?.status);
  };
  const revokedInLog = (org: string, inviteId: string) =>
    eventually(async () => {
      const res = await owner.call('GET', `/api/v1/activity/?organization=${org}&verb=invite.revoked&target_id=${inviteId}`);
      return res.status === 200 && res.body.results.length === 1 && res.body.results[0];
    }, WAIT);

  it('keeps a removed admin from coming back through the admin invite they sent to a second address of theirs', async () => {
    const org = await organization([[admin, 'admin']]);
    const secondAddress = await newAccount(system, 'Abel-alt');
    const backdoor = await invite(admin, org, secondAddress.email, 'admin');
    expect((await owner.call('DELETE', `/api/v1/organizations/${org}/members/${admin.id}/`)).status).toBe(204);

    const accepted = await secondAddress.call('POST', `/api/v1/invites/accept/${backdoor.token}/`);
    expect(accepted.status).toBe(400);
    expect(accepted.body.detail).toBe('Invalid invite');
    expect((await secondAddress.call('GET', `/api/v1/organizations/${org}/`)).status).toBe(404);
    expect(await statusesOf(org, [backdoor.id])).toEqual(['revoked']);
    expect(await revokedInLog(org, backdoor.id)).toMatchObject({ actor: owner.id, verb: 'invite.revoked', target: { type: 'invite', id: backdoor.id } });
  });

  it("revokes on demotion the invites the sender's new role could not send", async () => {
    const coOwner = await newAccount(system, 'Otto');
    const org = await organization([[coOwner, 'owner']]);
    const ownerInvite = await invite(coOwner, org, `o.${Date.now()}@example.com`, 'owner');
    const adminInvite = await invite(coOwner, org, `a.${Date.now()}@example.com`, 'admin');
    const memberInvite = await invite(coOwner, org, `m.${Date.now()}@example.com`, 'member');

    expect((await owner.call('PATCH', `/api/v1/organizations/${org}/members/${coOwner.id}/`, { role: 'admin' })).status).toBe(200);
    expect(await statusesOf(org, [ownerInvite.id, adminInvite.id, memberInvite.id])).toEqual(['revoked', 'pending', 'pending']);
    await revokedInLog(org, ownerInvite.id);

    expect((await owner.call('PATCH', `/api/v1/organizations/${org}/members/${coOwner.id}/`, { role: 'member' })).status).toBe(200);
    expect(await statusesOf(org, [ownerInvite.id, adminInvite.id, memberInvite.id])).toEqual(['revoked', 'revoked', 'revoked']);
    await revokedInLog(org, adminInvite.id);
    await revokedInLog(org, memberInvite.id);
  });

  it("refuses an admin replacing an owner's owner-role invite (403) and another organization's admin any sight of it (404)", async () => {
    const org = await organization([[admin, 'admin']]);
    const elsewhere = await otherAdmin.call('POST', '/api/v1/organizations/', { name: 'Elsewhere' });
    expect(elsewhere.status).toBe(201);
    const heir = await newAccount(system, 'Hera');
    const ownerInvite = await invite(owner, org, heir.email, 'owner');

    const replaced = await admin.call('POST', '/api/v1/invites/', { organization: org, email: heir.email, role: 'member' });
    expect(replaced.status).toBe(403);

    expect((await otherAdmin.call('GET', `/api/v1/invites/?organization=${org}`)).status).toBe(404);
    expect((await otherAdmin.call('DELETE', `/api/v1/invites/${ownerInvite.id}/`)).status).toBe(404);
    expect((await otherAdmin.call('DELETE', `/api/v1/organizations/${org}/members/${admin.id}/`)).status).toBe(404);
    // Re-inviting the address into an organization the caller cannot see is the contract's 400 on `organization`.
    const reinvite = await otherAdmin.call('POST', '/api/v1/invites/', { organization: org, email: heir.email, role: 'member' });
    expect(reinvite.status).toBe(400);
    expect(reinvite.body.errors).toHaveProperty('organization');

    expect(await statusesOf(org, [ownerInvite.id])).toEqual(['pending']);
    const accepted = await heir.call('POST', `/api/v1/invites/accept/${ownerInvite.token}/`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.role).toBe('owner');
  });
});
