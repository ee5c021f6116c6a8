import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { EVENTS_EXCHANGE, type Role } from '@taskflow/shared';
import { eventually } from '@taskflow/shared/testing';
import { type Harness, startHarness, type TestUser } from './support';

describe('members API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  /** An org with two owners, two admins and two members (a/b of each), plus an outsider. */
  async function organization() {
    const owner = h.user();
    const org = await h.createOrg(owner);
    const people: Record<string, TestUser> = { owner, owner2: h.user(), admin: h.user(), admin2: h.user(), member: h.user(), member2: h.user() };
    const roles = [['owner2', 'owner'], ['admin', 'admin'], ['admin2', 'admin'], ['member', 'member'], ['member2', 'member']] as const;
    for (const [key, role] of roles) await h.addMember(owner, org.id, people[key]!, role); // in order: the list test relies on join order
    return { org, people, outsider: h.user() };
  }

  const roleOf = async (org: string, user: string) => (await h.db('memberships').where({ organization_id: org, user_id: user }).first())?.role as Role | undefined;

  it('lists members with their profile, role and join time, to every member only', async () => {
    const { org, people, outsider } = await organization();
    const res = await h.call('GET', `/api/v1/organizations/${org.id}/members/`, people.member);
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(6);
    expect(res.body.results[0]).toEqual({
      user: { id: people.owner!.id, email: people.owner!.email, first_name: '', last_name: '' },
      role: 'owner',
      joined_at: expect.stringMatching(/Z$/),
    });
    const page = await h.call('GET', `/api/v1/organizations/${org.id}/members/?limit=4`, people.member);
    expect(page.body.results).toHaveLength(4);
    const rest = await h.call('GET', page.body.next, people.member);
    expect(rest.body.results).toHaveLength(2);
    expect(rest.body.next).toBeNull();
    expect([...page.body.results, ...rest.body.results].map((m: { user: { id: string } }) => m.user.id)).toEqual(res.body.results.map((m: { user: { id: string } }) => m.user.id));
    expect((await h.call('GET', `/api/v1/organizations/${org.id}/members/`, outsider)).status).toBe(404);
  });

  it('shows names from identity events once they arrive, and never lets an older event overwrite a newer one', async () => {
    const { org, people } = await organization();
    const user = people.member!;
    const connection = await amqplib.connect(h.vhost.url);
    const channel = await connection.createChannel();
    const publish = (type: string, data: unknown) => {
      const envelope = { id: randomUUID(), type, version: 1, occurred_at: new Date().toISOString(), organization_id: null, actor_id: user.id, actor_email: user.email, request_id: null, data };
      channel.publish(EVENTS_EXCHANGE, type, Buffer.from(JSON.stringify(envelope)), { messageId: envelope.id, persistent: true });
    };
    const summary = (first: string) => ({ id: user.id, email: user.email, first_name: first, last_name: 'Lovelace' });
    publish('identity.user.updated', { user: summary('Newest'), version: 3 });
    publish('identity.user.registered', { user: summary('Registered'), date_joined: new Date().toISOString() });
    publish('identity.user.updated', { user: summary('Older'), version: 2 });
    const names = async () => {
      const res = await h.call('GET', `/api/v1/organizations/${org.id}/members/?limit=200`, user);
      return res.body.results.find((m: { user: { id: string } }) => m.user.id === user.id).user;
    };
    await eventually(async () => (await names()).first_name === 'Newest');
    // The later (older-versioned) events are processed too, but change nothing.
    await eventually(async () => Number((await h.db('processed_messages').count({ n: '*' }).first())!.n) >= 3);
    expect(await names()).toEqual(summary('Newest'));
    await connection.close();
  });

  // [actor, target, new role, expected status]
  const roleChanges: Array<[string, string, Role, number]> = [
    ['owner', 'owner2', 'admin', 200],
    ['owner', 'admin', 'owner', 200],
    ['owner', 'member', 'admin', 200],
    ['admin', 'member', 'admin', 200],
    ['admin', 'admin2', 'member', 200],
    ['admin', 'member', 'owner', 403],
    ['admin', 'admin2', 'owner', 403],
    ['admin', 'owner', 'member', 403],
    ['admin', 'owner', 'admin', 403],
    ['member', 'member2', 'admin', 403],
    ['member', 'admin', 'member', 403],
    ['member', 'member', 'admin', 403],
    ['admin', 'admin', 'owner', 403],
  ];
  it.each(roleChanges)('%s changing %s to %s answers %i', async (actor, target, role, status) => {
    const { org, people } = await organization();
    const before = await roleOf(org.id, people[target]!.id);
    const res = await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${people[target]!.id}/`, people[actor], { body: { role } });
    expect(res.status).toBe(status);
    expect(await roleOf(org.id, people[target]!.id)).toBe(status === 200 ? role : before);
    if (status === 200) {
      expect(res.body).toMatchObject({ user: { id: people[target]!.id }, role });
      expect(res.headers.get('etag')).toMatch(/^"\d+"$/);
    }
  });

  // [actor, target, expected status]
  const removals: Array<[string, string, number]> = [
    ['owner', 'owner2', 204],
    ['owner', 'admin', 204],
    ['owner', 'member', 204],
    ['admin', 'admin2', 204],
    ['admin', 'member', 204],
    ['admin', 'owner', 403],
    ['member', 'member2', 403],
    ['member', 'admin', 403],
    ['member', 'owner', 403],
  ];
  it.each(removals)('%s removing %s answers %i', async (actor, target, status) => {
    const { org, people } = await organization();
    const res = await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${people[target]!.id}/`, people[actor]);
    expect(res.status).toBe(status);
    expect(await roleOf(org.id, people[target]!.id)).toEqual(status === 204 ? undefined : expect.any(String));
  });

  it.each(['owner', 'admin', 'member'])('lets a %s leave while another owner remains', async (who) => {
    const { org, people } = await organization();
    const res = await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${people[who]!.id}`, people[who]);
    expect(res.status).toBe(204);
    expect(await roleOf(org.id, people[who]!.id)).toBeUndefined();
    expect((await h.call('GET', `/api/v1/organizations/${org.id}/`, people[who])).status).toBe(404);
  });

  describe('the last owner', () => {
    it('cannot leave, be demoted or be removed (409 last_owner), and nothing changes', async () => {
      const owner = h.user();
      const admin = h.user();
      const org = await h.createOrg(owner);
      await h.addMember(owner, org.id, admin, 'admin');
      const before = await h.snapshot();
      const leave = await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${owner.id}/`, owner);
      expect(leave.status).toBe(409);
      expect(leave.body.code).toBe('last_owner');
      const demote = await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${owner.id}/`, owner, { body: { role: 'admin' } });
      expect(demote.status).toBe(409);
      expect(demote.body.code).toBe('last_owner');
      const byAdmin = await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${owner.id}/`, admin);
      expect(byAdmin.status).toBe(403);
      expect(await h.snapshot()).toEqual(before);
    });

    it('can leave once another owner exists', async () => {
      const owner = h.user();
      const heir = h.user();
      const org = await h.createOrg(owner);
      await h.addMember(owner, org.id, heir, 'admin');
      expect((await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${heir.id}/`, owner, { body: { role: 'owner' } })).status).toBe(200);
      expect((await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${owner.id}/`, owner)).status).toBe(204);
      expect(await roleOf(org.id, heir.id)).toBe('owner');
    });

    it('survives two owners demoting each other at the same time: exactly one succeeds', async () => {
      const a = h.user();
      const b = h.user();
      const org = await h.createOrg(a);
      await h.addMember(a, org.id, b, 'owner');
      const [x, y] = await Promise.all([
        h.call('PATCH', `/api/v1/organizations/${org.id}/members/${b.id}/`, a, { body: { role: 'member' } }),
        h.call('PATCH', `/api/v1/organizations/${org.id}/members/${a.id}/`, b, { body: { role: 'member' } }),
      ]);
      expect([x.status, y.status].sort()).toEqual([200, expect.any(Number)]);
      const owners = await h.db('memberships').where({ organization_id: org.id, role: 'owner' });
      expect(owners).toHaveLength(1);
    });
  });

  it('answers 404 for a target that is not a member, a malformed user id, or another organization', async () => {
    const { org, people } = await organization();
    const other = await organization();
    const before = await h.snapshot();
    const paths = [
      `/api/v1/organizations/${org.id}/members/${randomUUID()}/`,
      `/api/v1/organizations/${org.id}/members/not-a-uuid/`,
      `/api/v1/organizations/${org.id}/members/${other.people.member!.id}/`,
      `/api/v1/organizations/${other.org.id}/members/${other.people.member!.id}/`,
      `/api/v1/organizations/${other.org.id}/members/${people.member!.id}/`,
    ];
    for (const p of paths) {
      expect((await h.call('PATCH', p, people.owner, { body: { role: 'admin' } })).status).toBe(404);
      expect((await h.call('DELETE', p, people.owner)).status).toBe(404);
    }
    expect((await h.call('GET', `/api/v1/organizations/${other.org.id}/members/`, people.owner)).status).toBe(404);
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses a bad role with 400 and changes nothing', async () => {
    const { org, people } = await organization();
    const before = await h.snapshot();
    for (const body of [{}, { role: 'superuser' }, { role: 'OWNER' }, { role: null }, [1]]) {
      const res = await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${people.member!.id}/`, people.owner, { body });
      expect(res.status).toBe(400);
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it('honours If-Match on a member: a stale version is 412', async () => {
    const { org, people } = await organization();
    const path = `/api/v1/organizations/${org.id}/members/${people.member!.id}/`;
    const first = await h.call('PATCH', path, people.owner, { body: { role: 'admin' } });
    const etag = first.headers.get('etag')!;
    expect((await h.call('PATCH', path, people.owner, { body: { role: 'member' }, headers: { 'if-match': etag } })).status).toBe(200);
    expect((await h.call('PATCH', path, people.owner, { body: { role: 'admin' }, headers: { 'if-match': etag } })).status).toBe(412);
    expect((await h.call('DELETE', path, people.owner, { headers: { 'if-match': etag } })).status).toBe(412);
    expect(await roleOf(org.id, people.member!.id)).toBe('member');
  });

  it('gives every membership change a higher version, across leave and re-join', async () => {
    const owner = h.user();
    const user = h.user();
    const org = await h.createOrg(owner);
    const versions: number[] = [];
    const current = async () => Number((await h.db('memberships').where({ organization_id: org.id, user_id: user.id }).first()).version);
    await h.addMember(owner, org.id, user, 'member');
    versions.push(await current());
    await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${user.id}/`, owner, { body: { role: 'admin' } });
    versions.push(await current());
    await h.call('DELETE', `/api/v1/organizations/${org.id}/members/${user.id}/`, user);
    await h.addMember(owner, org.id, user, 'member');
    versions.push(await current());
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(3);
  });
});
