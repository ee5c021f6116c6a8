import { randomUUID } from 'node:crypto';
import { type Harness, startHarness } from './support';

describe('organizations API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });


  it('creates an organization with the trimmed name and makes the caller its owner', async () => {
    const owner = h.user();
    const res = await h.call('POST', '/api/v1/organizations/', owner, { body: { name: '  Acme  ' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), name: 'Acme', created_at: expect.stringMatching(/Z$/), role: 'owner' });
    const membership = await h.db('memberships').where({ organization_id: res.body.id }).first();
    expect(membership).toMatchObject({ user_id: owner.id, role: 'owner' });
  });

  it('works with and without the trailing slash', async () => {
    const owner = h.user();
    const created = await h.call('POST', '/api/v1/organizations', owner, { body: { name: 'No slash' } });
    expect(created.status).toBe(201);
    expect((await h.call('GET', `/api/v1/organizations/${created.body.id}`, owner)).status).toBe(200);
    expect((await h.call('GET', `/api/v1/organizations/${created.body.id}/`, owner)).status).toBe(200);
  });

  it('refuses bad names with field errors and creates nothing', async () => {
    const owner = h.user();
    const before = await h.snapshot();
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(256) }, { name: 42 }, { name: null }, [], 'name']) {
      const res = await h.call('POST', '/api/v1/organizations/', owner, { body });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const malformed = await h.call('POST', '/api/v1/organizations/', owner, { raw: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const res = await h.call('POST', '/api/v1/organizations/', owner, { body: { name: '' } });
    expect(res.body.errors).toHaveProperty('name');
    expect(await h.snapshot()).toEqual(before);
  });

  it('accepts a 255-character name', async () => {
    const res = await h.call('POST', '/api/v1/organizations/', h.user(), { body: { name: 'n'.repeat(255) } });
    expect(res.status).toBe(201);
  });

  it('answers 401 without a valid token', async () => {
    expect((await h.call('GET', '/api/v1/organizations/')).status).toBe(401);
    expect((await h.call('POST', '/api/v1/organizations/', undefined, { body: { name: 'x' } })).status).toBe(401);
    const bad = { id: randomUUID(), email: 'x@example.com', token: 'not.a.token' };
    expect((await h.call('GET', '/api/v1/organizations/', bad)).status).toBe(401);
  });

  it('replays a create with the same Idempotency-Key without creating a second organization', async () => {
    const owner = h.user();
    const headers = { 'idempotency-key': `org-${randomUUID()}` };
    const first = await h.call('POST', '/api/v1/organizations/', owner, { body: { name: 'Once' }, headers });
    const second = await h.call('POST', '/api/v1/organizations/', owner, { body: { name: 'Once' }, headers });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const list = await h.call('GET', '/api/v1/organizations/', owner);
    expect(list.body.results).toHaveLength(1);
    const other = await h.call('POST', '/api/v1/organizations/', owner, { body: { name: 'Different' }, headers });
    expect(other.status).toBe(422);
  });

  it('lists only the organizations the caller belongs to, with the caller role, paginated in a stable order', async () => {
    const { org, admin } = await h.organization();
    const own = [];
    for (let i = 0; i < 4; i += 1) own.push(await h.createOrg(admin, `Mine ${i}`));
    const seen: Array<{ id: string; role: string }> = [];
    let next: string | null = '/api/v1/organizations/?limit=2';
    let pages = 0;
    while (next) {
      const res: { status: number; headers: Headers; body: any } = await h.call('GET', next, admin);
      expect(res.status).toBe(200);
      expect(res.body.results.length).toBeLessThanOrEqual(2);
      if (res.body.next) expect(res.headers.get('link')).toBe(`<${res.body.next}>; rel="next"`);
      seen.push(...res.body.results);
      next = res.body.next;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen.map((o) => o.id)).toEqual([org.id, ...own.map((o) => o.id)]);
    expect(seen[0]!.role).toBe('admin');
    expect(seen.slice(1).every((o) => o.role === 'owner')).toBe(true);
  });

  it('refuses a forged cursor and bad limits with 400', async () => {
    const user = h.user();
    const forged = Buffer.from(JSON.stringify(['not a date', 'x'])).toString('base64url');
    for (const q of [`cursor=${forged}`, 'cursor=%%%', 'limit=0', 'limit=abc', `cursor=${Buffer.from('[1]').toString('base64url')}`]) {
      const res = await h.call('GET', `/api/v1/organizations/?${q}`, user);
      expect(res.status).toBe(400);
    }
  });

  it('shows an organization to each of its members with their own role and hides it from everyone else', async () => {
    const { org, as, outsider } = await h.organization();
    for (const role of ['owner', 'admin', 'member'] as const) {
      const res = await h.call('GET', `/api/v1/organizations/${org.id}/`, as[role]);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: org.id, name: org.name, role });
      expect(res.headers.get('etag')).toBe('"1"');
    }
    expect((await h.call('GET', `/api/v1/organizations/${org.id}/`, outsider)).status).toBe(404);
    expect((await h.call('GET', `/api/v1/organizations/${randomUUID()}/`, outsider)).status).toBe(404);
    expect((await h.call('GET', '/api/v1/organizations/not-a-uuid/', outsider)).status).toBe(404);
    expect((await h.call('GET', "/api/v1/organizations/1'%20or%201=1/", outsider)).status).toBe(404);
  });

  it.each([
    ['owner', 200],
    ['admin', 200],
    ['member', 403],
  ] as const)('lets a %s rename the organization: %i', async (role, status) => {
    const { org, as } = await h.organization();
    const res = await h.call('PATCH', `/api/v1/organizations/${org.id}/`, as[role], { body: { name: ' Renamed ' } });
    expect(res.status).toBe(status);
    const row = await h.db('organizations').where({ id: org.id }).first();
    expect(row.name).toBe(status === 200 ? 'Renamed' : org.name);
    if (status === 200) {
      expect(res.body).toMatchObject({ name: 'Renamed', role });
      expect(res.headers.get('etag')).toBe('"2"');
    }
  });

  it('answers 404 to a non-member renaming or deleting, and changes nothing', async () => {
    const { org, outsider } = await h.organization();
    const before = await h.snapshot();
    expect((await h.call('PATCH', `/api/v1/organizations/${org.id}/`, outsider, { body: { name: 'Mine now' } })).status).toBe(404);
    expect((await h.call('DELETE', `/api/v1/organizations/${org.id}/`, outsider)).status).toBe(404);
    expect((await h.call('GET', `/api/v1/organizations/${org.id}/members/`, outsider)).status).toBe(404);
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses a rename with a stale If-Match (412) or a malformed one (400) and applies one with the current ETag', async () => {
    const { org, owner } = await h.organization();
    const read = await h.call('GET', `/api/v1/organizations/${org.id}/`, owner);
    const etag = read.headers.get('etag')!;
    const first = await h.call('PATCH', `/api/v1/organizations/${org.id}/`, owner, { body: { name: 'First' }, headers: { 'if-match': etag } });
    expect(first.status).toBe(200);
    const stale = await h.call('PATCH', `/api/v1/organizations/${org.id}/`, owner, { body: { name: 'Second' }, headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');
    const garbage = await h.call('PATCH', `/api/v1/organizations/${org.id}/`, owner, { body: { name: 'Third' }, headers: { 'if-match': 'whatever' } });
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe('invalid_if_match');
    expect((await h.db('organizations').where({ id: org.id }).first()).name).toBe('First');
    const fresh = await h.call('PATCH', `/api/v1/organizations/${org.id}/`, owner, { body: { name: 'Second' }, headers: { 'if-match': first.headers.get('etag')! } });
    expect(fresh.status).toBe(200);
  });

  it('refuses a bad rename body with 400 and changes nothing', async () => {
    const { org, owner } = await h.organization();
    const before = await h.snapshot();
    for (const body of [{}, { name: '' }, { name: 'x'.repeat(256) }, { name: ['a'] }]) {
      expect((await h.call('PATCH', `/api/v1/organizations/${org.id}/`, owner, { body })).status).toBe(400);
    }
    expect(await h.snapshot()).toEqual(before);
  });

  it.each([
    ['admin', 403],
    ['member', 403],
  ] as const)('refuses deletion by a %s with %i', async (role, status) => {
    const { org, as } = await h.organization();
    expect((await h.call('DELETE', `/api/v1/organizations/${org.id}/`, as[role])).status).toBe(status);
    expect(await h.db('organizations').where({ id: org.id }).first()).toBeDefined();
  });

  it('lets the owner delete the organization with its memberships and invites', async () => {
    const { org, owner, member } = await h.organization();
    await h.invite(owner, org.id, 'pending@example.com');
    const stale = await h.call('DELETE', `/api/v1/organizations/${org.id}/`, owner, { headers: { 'if-match': '"99"' } });
    expect(stale.status).toBe(412);
    const res = await h.call('DELETE', `/api/v1/organizations/${org.id}/`, owner);
    expect(res.status).toBe(204);
    expect(await h.db('organizations').where({ id: org.id })).toHaveLength(0);
    expect(await h.db('memberships').where({ organization_id: org.id })).toHaveLength(0);
    expect(await h.db('invites').where({ organization_id: org.id })).toHaveLength(0);
    expect((await h.call('GET', `/api/v1/organizations/${org.id}/`, member)).status).toBe(404);
    expect((await h.call('DELETE', `/api/v1/organizations/${org.id}/`, owner)).status).toBe(404);
  });

  it('answers 405 for a wrong method and 415 for a non-JSON body', async () => {
    const owner = h.user();
    expect((await h.call('PUT', '/api/v1/organizations/', owner, { body: {} })).status).toBe(405);
    const res = await h.call('POST', '/api/v1/organizations/', owner, { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
  });
});
