import { createHash, randomUUID } from 'node:crypto';
import type { Role } from '@taskflow/shared';
import { type Harness, startHarness, type TestUser } from './support';

describe('invites API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const accept = (token: string, user: TestUser) => h.call('POST', `/api/v1/invites/accept/${token}/`, user);
  const expire = (inviteId: string) => h.db('invites').where({ id: inviteId }).update({ expires_at: h.db.raw("now() - interval '1 second'") });

  it('creates a pending invite that expires in 7 days, returns the token once and stores only its hash', async () => {
    const { org, owner } = await h.organization();
    const res = await h.invite(owner, org.id, '  New.Person@Example.com ');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      organization: org.id,
      organization_name: org.name,
      email: 'New.Person@Example.com',
      role: 'member',
      status: 'pending',
      invited_by: owner.id,
      created_at: expect.stringMatching(/Z$/),
      expires_at: expect.stringMatching(/Z$/),
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const days = (Date.parse(res.body.expires_at) - Date.parse(res.body.created_at)) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);
    const row = await h.db('invites').where({ id: res.body.id }).first();
    expect(row.token_hash).toBe(createHash('sha256').update(res.body.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(res.body.token);
    expect(JSON.stringify(await h.db('outbox').select('envelope'))).not.toContain(res.body.token);
  });

  // [inviter, invited role, expected status]
  const inviteMatrix: Array<[Role, Role, number]> = [
    ['owner', 'owner', 201],
    ['owner', 'admin', 201],
    ['owner', 'member', 201],
    ['admin', 'owner', 403],
    ['admin', 'admin', 201],
    ['admin', 'member', 201],
    ['member', 'owner', 403],
    ['member', 'admin', 403],
    ['member', 'member', 403],
  ];
  it.each(inviteMatrix)('lets a %s invite an %s: %i', async (inviter, role, status) => {
    const { org, as } = await h.organization();
    const res = await h.invite(as[inviter], org.id, `${randomUUID()}@example.com`, role);
    expect(res.status).toBe(status);
    expect(await h.db('invites').where({ organization_id: org.id, role, status: 'pending' })).toHaveLength(status === 201 ? 1 : 0);
  });

  it('answers 400 on organization for an organization the caller does not belong to, and creates nothing', async () => {
    const { org, outsider } = await h.organization();
    const before = await h.snapshot();
    for (const organization of [org.id, randomUUID()]) {
      const res = await h.invite(outsider, organization, 'x@example.com');
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual({ organization: ['Organization not found.'] });
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses bad input with field errors and creates nothing', async () => {
    const { org, owner } = await h.organization();
    const before = await h.snapshot();
    const bodies: Array<[unknown, string]> = [
      [{ email: 'a@example.com' }, 'organization'],
      [{ organization: 'not-a-uuid', email: 'a@example.com' }, 'organization'],
      [{ organization: org.id }, 'email'],
      [{ organization: org.id, email: 'not an email' }, 'email'],
      [{ organization: org.id, email: `${'a'.repeat(250)}@example.com` }, 'email'],
      [{ organization: org.id, email: 'a@example.com', role: 'superuser' }, 'role'],
      [{ organization: org.id, email: 42 }, 'email'],
      [[org.id], 'non_field_errors'],
    ];
    for (const [body, field] of bodies) {
      const res = await h.call('POST', '/api/v1/invites/', owner, { body });
      expect(res.status).toBe(400);
      expect(res.body.errors).toHaveProperty(field);
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses to invite an existing member, whatever the case of the address', async () => {
    const { org, owner, member } = await h.organization();
    const res = await h.invite(owner, org.id, member.email.toUpperCase());
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('User already in organization');
  });

  it('replaces a pending invite to the same address (any case): the old token stops working', async () => {
    const { org, owner } = await h.organization();
    const invitee = h.user('Twice@Example.com');
    const first = await h.invite(owner, org.id, 'twice@example.com');
    const second = await h.invite(owner, org.id, 'TWICE@example.com', 'admin');
    expect(second.status).toBe(201);
    expect(await h.db('invites').where({ id: first.body.id }).first()).toMatchObject({ status: 'revoked' });
    expect(await h.db('invites').where({ organization_id: org.id, status: 'pending' }).whereRaw('lower(email) = ?', ['twice@example.com'])).toHaveLength(1);
    const old = await accept(first.body.token, invitee);
    expect(old.status).toBe(400);
    expect(old.body.detail).toBe('Invalid invite');
    const ok = await accept(second.body.token, invitee);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ detail: 'Invite accepted', organization: { id: org.id, name: org.name, created_at: expect.any(String), role: 'admin' }, role: 'admin' });
  });

  it('enforces one pending invite per organization and address in the database', async () => {
    const { org, owner } = await h.organization();
    const sent = await h.invite(owner, org.id, 'unique@example.com');
    await expect(
      h.db('invites').insert({ ...(await h.db('invites').where({ id: sent.body.id }).first()), id: randomUUID(), email: 'UNIQUE@example.com', token_hash: 'x' }),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('accepts an invite addressed in another case, and makes the caller a member with the invited role', async () => {
    const { org, owner } = await h.organization();
    const sent = await h.invite(owner, org.id, 'Mixed.Case@Example.COM', 'admin');
    const user = h.user('mixed.case@example.com');
    const res = await h.call('POST', `/api/v1/invites/accept/${sent.body.token}`, user);
    expect(res.status).toBe(200);
    expect(res.body.role).toBe('admin');
    expect((await h.call('GET', `/api/v1/organizations/${org.id}/`, user)).body.role).toBe('admin');
    expect(await h.db('invites').where({ id: sent.body.id }).first()).toMatchObject({ status: 'accepted', accepted_by: user.id });
  });

  describe('accept errors, in order', () => {
    it('says Invalid invite for an unknown, used or revoked token, before anything else', async () => {
      const { org, owner } = await h.organization();
      const user = h.user();
      for (const token of ['nope', 'A'.repeat(43), '%00', "'; drop table invites; --"]) {
        const res = await accept(encodeURIComponent(token), user);
        expect(res.status).toBe(400);
        expect(res.body.detail).toBe('Invalid invite');
      }
      const used = await h.invite(owner, org.id, user.email);
      expect((await accept(used.body.token, user)).status).toBe(200);
      expect((await accept(used.body.token, user)).body.detail).toBe('Invalid invite');
      // A revoked token is invalid even when it has also expired and is presented by someone else.
      const other = h.user();
      const revoked = await h.invite(owner, org.id, 'revoked@example.com');
      expect((await h.call('DELETE', `/api/v1/invites/${revoked.body.id}/`, owner)).status).toBe(204);
      await expire(revoked.body.id);
      expect((await accept(revoked.body.token, other)).body.detail).toBe('Invalid invite');
    });

    it('says Invite expired past the expiry, before checking the email', async () => {
      const { org, owner } = await h.organization();
      const sent = await h.invite(owner, org.id, 'late@example.com');
      await expire(sent.body.id);
      const wrongUser = await accept(sent.body.token, h.user('someone-else@example.com'));
      expect(wrongUser.status).toBe(400);
      expect(wrongUser.body.detail).toBe('Invite expired');
      const rightUser = await accept(sent.body.token, h.user('late@example.com'));
      expect(rightUser.body.detail).toBe('Invite expired');
      const listed = await h.call('GET', `/api/v1/invites/?organization=${org.id}&status=expired`, owner);
      expect(listed.body.results.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([[sent.body.id, 'expired']]);
    });

    it('says Invite email mismatch when the caller is someone else, and leaves the invite usable', async () => {
      const { org, owner } = await h.organization();
      const sent = await h.invite(owner, org.id, 'right@example.com');
      const res = await accept(sent.body.token, h.user('wrong@example.com'));
      expect(res.status).toBe(400);
      expect(res.body.detail).toBe('Invite email mismatch');
      expect((await accept(sent.body.token, h.user('right@example.com'))).status).toBe(200);
    });

    it('says User already in organization when the caller joined meanwhile, and keeps the invite pending', async () => {
      const { org, owner } = await h.organization();
      const user = h.user();
      const sent = await h.invite(owner, org.id, user.email);
      // The user joins another way (a second org-scoped path does not exist, so insert directly).
      await h.db('memberships').insert({ organization_id: org.id, user_id: user.id, role: 'member' });
      const res = await accept(sent.body.token, user);
      expect(res.status).toBe(400);
      expect(res.body.detail).toBe('User already in organization');
      expect((await h.db('invites').where({ id: sent.body.id }).first()).status).toBe('pending');
    });
  });

  it('lets exactly one of 10 concurrent accepts succeed; the others get Invalid invite, never a 500', async () => {
    const { org, owner } = await h.organization();
    const user = h.user();
    const sent = await h.invite(owner, org.id, user.email);
    const results = await Promise.all(Array.from({ length: 10 }, () => accept(sent.body.token, user)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(400)]);
    expect(results.filter((r) => r.status === 400).every((r) => r.body.detail === 'Invalid invite')).toBe(true);
    expect(await h.db('memberships').where({ organization_id: org.id, user_id: user.id })).toHaveLength(1);
  });

  it('serves the compatibility aliases with the same behaviour', async () => {
    const { org, owner } = await h.organization();
    const user = h.user();
    const sent = await h.call('POST', '/api/v1/organizations/invite/', owner, { body: { organization: org.id, email: user.email, role: 'admin' } });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ organization: org.id, role: 'admin', status: 'pending', token: expect.any(String) });
    const wrong = await h.call('POST', '/api/v1/organizations/invite/accept/unknown/', user);
    expect(wrong.body.detail).toBe('Invalid invite');
    const ok = await h.call('POST', `/api/v1/organizations/invite/accept/${sent.body.token}`, user);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ detail: 'Invite accepted', role: 'admin', organization: { id: org.id, role: 'admin' } });
    const member = await h.call('POST', '/api/v1/organizations/invite', user, { body: { organization: org.id, email: 'x@example.com', role: 'owner' } });
    expect(member.status).toBe(403);
  });

  it('replays an invite create with the same Idempotency-Key without sending a second invite or mail', async () => {
    const { org, owner } = await h.organization();
    const headers = { 'idempotency-key': `inv-${randomUUID()}` };
    const body = { organization: org.id, email: 'idem@example.com' };
    const first = await h.call('POST', '/api/v1/invites/', owner, { body, headers });
    const second = await h.call('POST', '/api/v1/invites/', owner, { body, headers });
    expect(second.status).toBe(201);
    const { token, ...withoutToken } = first.body;
    expect(token).toEqual(expect.any(String));
    expect(second.body).toEqual(withoutToken);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await h.db('invites').where({ organization_id: org.id, email: 'idem@example.com' })).toHaveLength(1);
    expect(await h.db('mail_outbox').where({ to_address: 'idem@example.com' })).toHaveLength(1);
    expect(JSON.stringify(await h.db('idempotency_keys').select('body'))).not.toContain(token);
  });

  it('replays an accept with the same Idempotency-Key', async () => {
    const { org, owner } = await h.organization();
    const user = h.user();
    const sent = await h.invite(owner, org.id, user.email);
    const headers = { 'idempotency-key': `acc-${randomUUID()}` };
    const first = await h.call('POST', `/api/v1/invites/accept/${sent.body.token}/`, user, { headers });
    const second = await h.call('POST', `/api/v1/invites/accept/${sent.body.token}/`, user, { headers });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
  });

  describe('listing', () => {
    it('lists an organization invites to owners and admins, newest first, filtered by status', async () => {
      const { org, owner, admin, member, outsider } = await h.organization();
      const a = await h.invite(owner, org.id, 'a@example.com');
      const b = await h.invite(admin, org.id, 'b@example.com');
      await h.call('DELETE', `/api/v1/invites/${a.body.id}/`, owner);
      for (const who of [owner, admin]) {
        const all = await h.call('GET', `/api/v1/invites/?organization=${org.id}`, who);
        expect(all.status).toBe(200);
        const ours = all.body.results.filter((i: { email: string }) => ['a@example.com', 'b@example.com'].includes(i.email));
        expect(ours.map((i: { id: string }) => i.id)).toEqual([b.body.id, a.body.id]);
        expect(ours[0]).not.toHaveProperty('token');
        const pending = await h.call('GET', `/api/v1/invites?organization=${org.id}&status=pending`, who);
        expect(pending.body.results.map((i: { id: string }) => i.id)).toContain(b.body.id);
        expect(pending.body.results.map((i: { id: string }) => i.id)).not.toContain(a.body.id);
        const revoked = await h.call('GET', `/api/v1/invites/?organization=${org.id}&status=revoked`, who);
        expect(revoked.body.results.map((i: { id: string }) => i.id)).toEqual([a.body.id]);
      }
      const page = await h.call('GET', `/api/v1/invites/?organization=${org.id}&limit=1`, owner);
      expect(page.body.results).toHaveLength(1);
      expect(page.body.next).toContain(`organization=${org.id}`);
      expect((await h.call('GET', page.body.next, owner)).body.results).toHaveLength(1);
      expect((await h.call('GET', `/api/v1/invites/?organization=${org.id}`, member)).status).toBe(403);
      expect((await h.call('GET', `/api/v1/invites/?organization=${org.id}`, outsider)).status).toBe(404);
      expect((await h.call('GET', `/api/v1/invites/?organization=${randomUUID()}`, owner)).status).toBe(404);
    });

    it('refuses a missing organization and an unknown status with 400, and answers a malformed one with 404', async () => {
      const { org, owner } = await h.organization();
      expect((await h.call('GET', '/api/v1/invites/?organization=nope', owner)).status).toBe(404);
      for (const q of ['', `?organization=${org.id}&status=lost`, `?organization=${org.id}&status=pending&status=revoked`]) {
        const res = await h.call('GET', `/api/v1/invites/${q}`, owner);
        expect(res.status).toBe(400);
      }
      expect((await h.call('GET', '/api/v1/invites/', owner)).body.errors).toHaveProperty('organization');
    });

    it("lists the caller's pending, unexpired invites across organizations, whatever the case of the address", async () => {
      const one = await h.organization();
      const two = await h.organization();
      const user = h.user(`Me-${randomUUID().slice(0, 6)}@Example.com`);
      const a = await h.invite(one.owner, one.org.id, user.email.toLowerCase());
      const b = await h.invite(two.owner, two.org.id, user.email.toUpperCase());
      const expired = await h.invite(two.admin, two.org.id, `other-${user.email}`);
      await expire(expired.body.id);
      const mine = await h.call('GET', '/api/v1/invites/mine/', user);
      expect(mine.status).toBe(200);
      expect(mine.body.results.map((i: { id: string }) => i.id)).toEqual([b.body.id, a.body.id]);
      await h.call('DELETE', `/api/v1/invites/${b.body.id}`, two.owner);
      expect((await h.call('GET', '/api/v1/invites/mine', user)).body.results.map((i: { id: string }) => i.id)).toEqual([a.body.id]);
      expect((await h.call('GET', '/api/v1/invites/mine/', h.user())).body.results).toEqual([]);
    });
  });

  describe('revoking', () => {
    // [revoker, invite role, expected status]
    const matrix: Array<[Role, Role, number]> = [
      ['owner', 'owner', 204],
      ['owner', 'admin', 204],
      ['owner', 'member', 204],
      ['admin', 'owner', 403],
      ['admin', 'admin', 204],
      ['admin', 'member', 204],
      ['member', 'owner', 403],
      ['member', 'admin', 403],
      ['member', 'member', 403],
    ];
    it.each(matrix)('lets a %s revoke an %s invite: %i', async (revoker, role, status) => {
      const { org, owner, as } = await h.organization();
      const sent = await h.invite(owner, org.id, `${randomUUID()}@example.com`, role);
      const res = await h.call('DELETE', `/api/v1/invites/${sent.body.id}/`, as[revoker]);
      expect(res.status).toBe(status);
      expect((await h.db('invites').where({ id: sent.body.id }).first()).status).toBe(status === 204 ? 'revoked' : 'pending');
    });

    it('answers 404 for an invite of another organization, an unknown or a malformed id', async () => {
      const { org, owner } = await h.organization();
      const other = await h.organization();
      const sent = await h.invite(owner, org.id, 'keep@example.com');
      for (const id of [sent.body.id, randomUUID(), 'nope']) {
        expect((await h.call('DELETE', `/api/v1/invites/${id}/`, other.owner)).status).toBe(404);
      }
      expect((await h.db('invites').where({ id: sent.body.id }).first()).status).toBe('pending');
    });

    it('is idempotent for a revoked invite and refuses an accepted one with 409', async () => {
      const { org, owner } = await h.organization();
      const user = h.user();
      const a = await h.invite(owner, org.id, 'gone@example.com');
      expect((await h.call('DELETE', `/api/v1/invites/${a.body.id}/`, owner)).status).toBe(204);
      expect((await h.call('DELETE', `/api/v1/invites/${a.body.id}/`, owner)).status).toBe(204);
      const b = await h.invite(owner, org.id, user.email);
      await accept(b.body.token, user);
      const res = await h.call('DELETE', `/api/v1/invites/${b.body.id}/`, owner);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('invite_not_pending');
    });
  });
});
