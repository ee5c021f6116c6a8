// Every change publishes its declared event (consumed here from the test vhost's `audit` queue, bound to `#`),
// and the internal membership endpoint answers other services with the service credential only.
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@taskflow/shared';
import { eventually, type JsonResponse, request } from '@taskflow/shared/testing';
import { collectEvents, type Harness, SERVICE_TOKEN, startHarness, type TestUser } from './support';

describe('tenancy events', () => {
  let h: Harness;
  let bus: Awaited<ReturnType<typeof collectEvents>>;
  beforeAll(async () => {
    h = await startHarness();
    bus = await collectEvents(h.vhost.url);
  });
  afterAll(async () => {
    await bus.close();
    await h.close();
  });

  const ofOrg = (org: string) => bus.events.filter((e) => e.organization_id === org);
  const waitFor = (org: string, type: string, count = 1) =>
    eventually(() => ofOrg(org).filter((e) => e.type === type).length >= count && ofOrg(org).filter((e) => e.type === type));
  const summary = (u: { id: string; email: string }) => ({ id: u.id, email: u.email, first_name: '', last_name: '' });

  describe("an organization's life, from founding to a member leaving", () => {
    let owner: TestUser;
    let joiner: TestUser;
    let org: { id: string; name: string };
    let sent: JsonResponse;
    let first: JsonResponse;
    let third: JsonResponse;
    let created: EventEnvelope;
    let ownerAdded: EventEnvelope;
    let sentEvent: EventEnvelope;
    let accepted: EventEnvelope;
    let added: EventEnvelope;
    let changed: EventEnvelope;
    let renamed: EventEnvelope;
    let replaced: EventEnvelope;
    let revoked: EventEnvelope[];
    let left: EventEnvelope;

    /** Each change, then its event once it is published (so they arrive in this order); each test checks one. */
    beforeAll(async () => {
      owner = h.user();
      joiner = h.user();
      org = await h.createOrg(owner, 'Events Inc');
      created = (await waitFor(org.id, 'tenancy.organization.created'))[0]!;
      ownerAdded = (await waitFor(org.id, 'tenancy.membership.added'))[0]!;

      sent = await h.invite(owner, org.id, joiner.email, 'member');
      sentEvent = (await waitFor(org.id, 'tenancy.invite.sent'))[0]!;

      await h.call('POST', `/api/v1/invites/accept/${sent.body.token}/`, joiner);
      accepted = (await waitFor(org.id, 'tenancy.invite.accepted'))[0]!;
      added = (await waitFor(org.id, 'tenancy.membership.added', 2)).find((e) => (e as EventEnvelope<'tenancy.membership.added'>).data.user.id === joiner.id)!;

      await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${joiner.id}/`, owner, { body: { role: 'admin' } });
      changed = (await waitFor(org.id, 'tenancy.membership.role_changed'))[0]!;

      await h.call('PATCH', `/api/v1/organizations/${org.id}/`, owner, { body: { name: 'Events Ltd' } });
      renamed = (await waitFor(org.id, 'tenancy.organization.renamed'))[0]!;

      first = await h.invite(owner, org.id, 'again@example.com');
      await h.invite(joiner, org.id, 'AGAIN@example.com');
      replaced = (await waitFor(org.id, 'tenancy.invite.revoked'))[0]!;
      third = await h.invite(owner, org.id, 'third@example.com', 'owner');
      await h.call('DELETE', `/api/v1/invites/${third.body.id}/`, owner);
      revoked = await waitFor(org.id, 'tenancy.invite.revoked', 2);

      await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${joiner.id}/`, joiner);
      left = (await waitFor(org.id, 'tenancy.membership.removed'))[0]!;
      await eventually(async () => (await h.db('outbox').whereNull('published_at')).length === 0);
    });

    it('publishes organization.created with the founder as actor and the request id', () => {
      expect(created).toMatchObject({
        type: 'tenancy.organization.created',
        organization_id: org.id,
        actor_id: owner.id,
        actor_email: owner.email,
        request_id: expect.any(String),
        data: { organization: { id: org.id, name: 'Events Inc' } },
      });
    });

    it('publishes membership.added for the founder as owner', () => {
      expect(ownerAdded.data).toEqual({ organization_id: org.id, user: summary(owner), role: 'owner', version: expect.any(Number) });
    });

    it('publishes invite.sent with the invite and its organization, never the token', () => {
      expect(sentEvent.data).toEqual({
        invite: { id: sent.body.id, email: joiner.email, role: 'member', expires_at: sent.body.expires_at },
        organization: { id: org.id, name: 'Events Inc' },
      });
      expect(JSON.stringify(sentEvent)).not.toContain(sent.body.token);
    });

    it('publishes invite.accepted by the invitee, and their membership.added', () => {
      expect(accepted).toMatchObject({ actor_id: joiner.id, data: { invite: { id: sent.body.id }, organization: { id: org.id } } });
      expect(added.data).toEqual({ organization_id: org.id, user: summary(joiner), role: 'member', version: expect.any(Number) });
    });

    it('publishes membership.role_changed with the change', () => {
      expect(changed.data).toEqual({ organization_id: org.id, user: summary(joiner), role: 'admin', version: expect.any(Number), changes: { role: ['member', 'admin'] } });
    });

    it('publishes organization.renamed with the change', () => {
      expect(renamed.data).toEqual({ organization: { id: org.id, name: 'Events Ltd' }, changes: { name: ['Events Inc', 'Events Ltd'] } });
    });

    it('publishes invite.revoked for an invite replaced by a new one to the same address, by whoever replaced it', () => {
      expect(replaced).toMatchObject({ actor_id: joiner.id, data: { invite: { id: first.body.id, email: 'again@example.com' } } });
    });

    it('publishes invite.revoked for an invite revoked by hand', () => {
      expect(revoked[1]!.data).toMatchObject({ invite: { id: third.body.id, role: 'owner' } });
    });

    it('publishes membership.removed with reason left when a member leaves', () => {
      expect(left.data).toEqual({ organization_id: org.id, user: summary(joiner), role: 'admin', version: expect.any(Number), reason: 'left' });
    });

    it("gives one member's membership events distinct versions, increasing in publication order", () => {
      const versions = ofOrg(org.id)
        .filter((e) => e.type.startsWith('tenancy.membership.') && (e.data as { user: { id: string } }).user.id === joiner.id)
        .map((e) => (e.data as { version: number }).version);
      expect(versions).toHaveLength(3);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
      expect(new Set(versions).size).toBe(3);
    });
  });

  it('publishes a removal with reason removed when someone else removes a member', async () => {
    const owner = h.user();
    const member = h.user();
    const org = await h.createOrg(owner);
    await h.addMember(owner, org.id, member, 'member');
    await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${member.id}/`, owner);
    const removed = (await waitFor(org.id, 'tenancy.membership.removed'))[0]!;
    expect(removed).toMatchObject({ actor_id: owner.id, data: { user: { id: member.id }, role: 'member', reason: 'removed' } });
  });

  it('on deletion publishes a removal (organization_deleted) per member with a newer version, then the deletion', async () => {
    const owner = h.user();
    const a = h.user();
    const b = h.user();
    const org = await h.createOrg(owner, 'Doomed');
    await h.addMember(owner, org.id, a, 'admin');
    await h.addMember(owner, org.id, b, 'member');
    const before = await h.db('memberships').where({ organization_id: org.id }).select('user_id', 'version');
    expect((await h.call('DELETE', `/api/v1/organizations/${org.id}/`, owner)).status).toBe(204);
    const deleted = (await waitFor(org.id, 'tenancy.organization.deleted'))[0]!;
    expect(deleted).toMatchObject({ actor_id: owner.id, data: { organization: { id: org.id, name: 'Doomed' } } });
    const removals = (await waitFor(org.id, 'tenancy.membership.removed', 3)) as Array<EventEnvelope<'tenancy.membership.removed'>>;
    expect(removals.map((e) => e.data.user.id).sort()).toEqual([owner.id, a.id, b.id].sort());
    for (const e of removals) {
      expect(e.data.reason).toBe('organization_deleted');
      const old = before.find((m: { user_id: string }) => m.user_id === e.data.user.id);
      expect(e.data.version).toBeGreaterThan(Number(old.version));
    }
  });

  describe('publishes nothing for a refused change', () => {
    type Refusal = [string, (org: string, owner: TestUser, member: TestUser) => Promise<JsonResponse>, number, string];
    it.each<Refusal>([
      ['a member renaming the organization', (org, _owner, member) => h.call('PATCH', `/api/v1/organizations/${org}/`, member, { body: { name: 'Nope' } }), 403, 'permission_denied'],
      ['the last owner leaving', (org, owner) => h.call('DELETE', `/api/v1/organizations/${org}/members/${owner.id}/`, owner), 409, 'last_owner'],
      ['a member inviting', (org, _owner, member) => h.invite(member, org, 'x@example.com'), 403, 'permission_denied'],
    ])('%s (%i %s)', async (_name, refused, status, code) => {
      const owner = h.user();
      const member = h.user();
      const org = await h.createOrg(owner);
      await h.addMember(owner, org.id, member, 'member');
      await waitFor(org.id, 'tenancy.membership.added', 2);
      const count = async () => Number((await h.db('outbox').count({ n: '*' }).first())!.n);
      const before = await count();
      const res = await refused(org.id, owner, member);
      expect([res.status, res.body.code]).toEqual([status, code]);
      expect(await count()).toBe(before);
    });
  });

  describe('internal membership endpoint', () => {
    const path = (org: string, user: string) => `/internal/v1/organizations/${org}/members/${user}`;

    it('answers the membership with its version to the service credential, and 404 for non-members', async () => {
      const owner = h.user();
      const org = await h.createOrg(owner);
      const version = Number((await h.db('memberships').where({ organization_id: org.id, user_id: owner.id }).first()).version);
      const auth = { authorization: `Bearer ${SERVICE_TOKEN}` };
      const res = await request(h.url, 'GET', path(org.id, owner.id), { headers: auth });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ organization_id: org.id, user_id: owner.id, role: 'owner', version });
      expect((await request(h.url, 'GET', `${path(org.id, owner.id)}/`, { headers: auth })).status).toBe(200);
      expect((await request(h.url, 'GET', path(org.id, randomUUID()), { headers: auth })).status).toBe(404);
      expect((await request(h.url, 'GET', path('nope', owner.id), { headers: auth })).status).toBe(404);
    });

    it('answers 401 without the service credential, with a wrong one, or with a user access token', async () => {
      const owner = h.user();
      const org = await h.createOrg(owner);
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Bearer ${owner.token}` }, { authorization: SERVICE_TOKEN }]) {
        const res = await request(h.url, 'GET', path(org.id, owner.id), { headers });
        expect(res.status).toBe(401);
      }
      expect((await request(h.url, 'GET', path('nope', owner.id))).status).toBe(401);
    });

    it('stays out of the public OpenAPI document', async () => {
      const doc = await request(h.url, 'GET', '/openapi.json');
      expect(Object.keys(doc.body.paths).some((p) => p.startsWith('/internal'))).toBe(false);
      expect(doc.body.paths).toHaveProperty(['/api/v1/invites/accept/{token}/']);
    });
  });
});
