import { randomUUID } from 'node:crypto';
import { eventually } from '@taskflow/shared/testing';
import { type Harness, seedProject, seedTask, snapshot, startHarness } from './harness';

describe('projects API', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;

  beforeAll(async () => {
    h = await startHarness();
    org = await h.organization();
  });
  afterAll(() => h.close());

  describe('create', () => {
    it.each(['owner', 'admin'] as const)('creates a project for an %s and publishes work.project.created', async (role) => {
      const res = await h.call('POST', '/api/v1/projects/', org[role], { body: { organization: org.id, name: `By ${role}` } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        organization: org.id,
        name: `By ${role}`,
        description: '',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updated_at: expect.stringMatching(/Z$/),
      });
      const [event] = await eventually(() => {
        const found = h.eventsOf('work.project.created', (e) => e.data.project.id === res.body.id);
        return found.length > 0 && found;
      });
      expect(event).toMatchObject({
        organization_id: org.id,
        actor_id: org[role].id,
        actor_email: org[role].email,
        data: { project: { id: res.body.id, name: `By ${role}` } },
      });
      expect(Object.keys(event!.data.project).sort()).toEqual(['id', 'name']);
    });

    it('refuses a member with 403 and stores nothing', async () => {
      const before = await snapshot(h);
      const res = await h.call('POST', '/api/v1/projects', org.member, { body: { organization: org.id, name: 'Nope' } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('permission_denied');
      expect(await snapshot(h)).toEqual(before);
    });

    it('reports an organization the caller does not belong to exactly like one that does not exist', async () => {
      const foreignOrg = await h.organization();
      const before = await snapshot(h);
      const foreign = await h.call('POST', '/api/v1/projects/', org.owner, { body: { organization: foreignOrg.id, name: 'X' } });
      const missing = await h.call('POST', '/api/v1/projects/', org.owner, { body: { organization: randomUUID(), name: 'X' } });
      expect(foreign.status).toBe(400);
      expect(foreign.body.errors).toEqual({ organization: ['Organization not found.'] });
      expect(missing.body).toEqual(foreign.body);
      expect(await snapshot(h)).toEqual(before);
    });

    it('replays a repeated Idempotency-Key and refuses the key with another body (422)', async () => {
      const headers = { 'idempotency-key': `p-${randomUUID()}` };
      const body = { organization: org.id, name: 'Once' };
      const first = await h.call('POST', '/api/v1/projects/', org.admin, { body, headers });
      const again = await h.call('POST', '/api/v1/projects/', org.admin, { body, headers });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const other = await h.call('POST', '/api/v1/projects/', org.admin, { body: { ...body, name: 'Other' }, headers });
      expect(other.status).toBe(422);
      expect(await h.db('projects').where({ name: 'Once' }).count({ n: '*' }).first()).toEqual({ n: '1' });
      expect(await h.db('projects').where({ name: 'Other' }).count({ n: '*' }).first()).toEqual({ n: '0' });
      // Events leave in commit order: once a later project's event is here, a duplicate would be too.
      await h.call('POST', '/api/v1/projects/', org.admin, { body: { organization: org.id, name: 'After the replay' } });
      await eventually(() => h.eventsOf('work.project.created', (e) => e.data.project.name === 'After the replay').length === 1);
      expect(h.eventsOf('work.project.created', (e) => e.data.project.name === 'Once')).toHaveLength(1);
      expect(h.eventsOf('work.project.created', (e) => e.data.project.name === 'Other')).toHaveLength(0);
    });

    it('needs a valid access token', async () => {
      const res = await h.call('POST', '/api/v1/projects/', null, { body: { organization: org.id, name: 'X' } });
      expect(res.status).toBe(401);
      const bad = await h.call('GET', '/api/v1/projects/', { id: 'x', email: 'x', token: 'not.a.token' });
      expect(bad.status).toBe(401);
    });
  });

  describe('read', () => {
    it('serves one project with an ETag, with and without the trailing slash', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Readable');
      for (const path of [`/api/v1/projects/${project.id}/`, `/api/v1/projects/${project.id}`]) {
        const res = await h.call('GET', path, org.member);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(project);
        expect(res.headers.get('etag')).toBe('"1"');
      }
    });

    it('answers 404 for an unknown, malformed or foreign id', async () => {
      const foreignOrg = await h.organization();
      const foreign = await seedProject(h, foreignOrg.admin, foreignOrg.id);
      for (const id of [randomUUID(), 'not-a-uuid', '1', foreign.id]) {
        const res = await h.call('GET', `/api/v1/projects/${id}/`, org.owner);
        expect(res.status).toBe(404);
      }
    });

    it("lists the caller's projects newest first across organizations, and one organization with ?organization=", async () => {
      const second = await h.organization();
      await h.join(second.id, org.member, 'member');
      const a = await seedProject(h, org.admin, org.id, 'List A');
      const b = await seedProject(h, second.admin, second.id, 'List B');
      const all = await h.call('GET', '/api/v1/projects/?limit=200', org.member);
      expect(all.status).toBe(200);
      const ids = all.body.results.map((p: { id: string }) => p.id);
      expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
      expect(new Set(all.body.results.map((p: { organization: string }) => p.organization))).toEqual(new Set([org.id, second.id]));
      const only = await h.call('GET', `/api/v1/projects?organization=${second.id}`, org.member);
      expect(only.body.results.map((p: { id: string }) => p.id)).toEqual([b.id]);
      const outsider = await h.call('GET', `/api/v1/projects?organization=${second.id}`, org.otherMember);
      expect(outsider.status).toBe(404);
    });

    it('walks every project exactly once through the cursor', async () => {
      const fresh = await h.organization();
      const created = [];
      for (let i = 0; i < 7; i += 1) created.push((await seedProject(h, fresh.admin, fresh.id, `Page ${i}`)).id);
      const seen: string[] = [];
      let next: string | null = `/api/v1/projects/?organization=${fresh.id}&limit=3`;
      while (next) {
        const res: { status: number; headers: Headers; body: any } = await h.call('GET', next, fresh.member);
        expect(res.status).toBe(200);
        seen.push(...res.body.results.map((p: { id: string }) => p.id));
        if (res.body.next) expect(res.headers.get('link')).toBe(`<${res.body.next}>; rel="next"`);
        next = res.body.next;
      }
      expect(seen).toEqual([...created].reverse());
    });
  });

  describe('update', () => {
    it('applies a PATCH from an admin, bumps the ETag and publishes only the changed fields', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Before');
      const res = await h.call('PATCH', `/api/v1/projects/${project.id}/`, org.admin, { body: { name: 'After', description: '' }, headers: { 'if-match': '"1"' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: project.id, name: 'After', description: '' });
      expect(res.headers.get('etag')).toBe('"2"');
      const [event] = await eventually(() => {
        const found = h.eventsOf('work.project.updated', (e) => e.data.project.id === project.id);
        return found.length > 0 && found;
      });
      expect(event!.data).toEqual({ project: { id: project.id, name: 'After' }, changes: { name: ['Before', 'After'] } });
      expect(event!.actor_id).toBe(org.admin.id);
    });

    it('replaces name and description with PUT, which needs both', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Put me');
      const partial = await h.call('PUT', `/api/v1/projects/${project.id}`, org.owner, { body: { name: 'Only name' } });
      expect(partial.status).toBe(400);
      expect(partial.body.errors).toHaveProperty('description');
      const res = await h.call('PUT', `/api/v1/projects/${project.id}`, org.owner, { body: { name: 'Whole', description: 'All of it' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'Whole', description: 'All of it' });
    });

    it('refuses a member with 403, a stale If-Match with 412 and a malformed one with 400, changing nothing', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Guarded');
      await h.call('PATCH', `/api/v1/projects/${project.id}`, org.admin, { body: { name: 'Guarded 2' } });
      const before = await snapshot(h);
      const member = await h.call('PATCH', `/api/v1/projects/${project.id}`, org.member, { body: { name: 'Hacked' } });
      expect(member.status).toBe(403);
      const memberPut = await h.call('PUT', `/api/v1/projects/${project.id}`, org.member, { body: { name: 'Hacked', description: '' } });
      expect(memberPut.status).toBe(403);
      const stale = await h.call('PATCH', `/api/v1/projects/${project.id}`, org.admin, { body: { name: 'Late' }, headers: { 'if-match': '"1"' } });
      expect(stale.status).toBe(412);
      const garbage = await h.call('PATCH', `/api/v1/projects/${project.id}`, org.admin, { body: { name: 'Late' }, headers: { 'if-match': 'nonsense' } });
      expect(garbage.status).toBe(400);
      expect(garbage.body.code).toBe('invalid_if_match');
      expect(await snapshot(h)).toEqual(before);
    });
  });

  describe('delete', () => {
    it('deletes the project with its tasks, publishing a deletion for each', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Doomed');
      const tasks = [await seedTask(h, org.admin, project.id, { title: 'T1' }), await seedTask(h, org.admin, project.id, { title: 'T2' })];
      const res = await h.call('DELETE', `/api/v1/projects/${project.id}/`, org.owner, { headers: { 'if-match': '"1"' } });
      expect(res.status).toBe(204);
      expect(await h.db('projects').where({ id: project.id }).first()).toBeUndefined();
      expect(await h.db('tasks').where({ project_id: project.id })).toEqual([]);
      await eventually(() => h.eventsOf('work.project.deleted', (e) => e.data.project.id === project.id).length === 1);
      const deleted = h.eventsOf('work.task.deleted', (e) => e.data.task.project_id === project.id);
      expect(deleted.map((e) => e.data.task).sort((x, y) => x.title.localeCompare(y.title))).toEqual(
        tasks.map((t) => ({ id: t.id, project_id: project.id, title: t.title, assigned_to: null })),
      );
      expect((await h.call('GET', `/api/v1/projects/${project.id}`, org.owner)).status).toBe(404);
    });

    it('refuses a member (403) and a stale If-Match (412), deleting nothing', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Kept');
      await seedTask(h, org.admin, project.id);
      const before = await snapshot(h);
      expect((await h.call('DELETE', `/api/v1/projects/${project.id}`, org.member)).status).toBe(403);
      expect((await h.call('DELETE', `/api/v1/projects/${project.id}`, org.admin, { headers: { 'if-match': '"7"' } })).status).toBe(412);
      expect(await snapshot(h)).toEqual(before);
    });
  });

  describe('bad input', () => {
    const huge = 'x'.repeat(256);
    it.each([
      ['a missing name', { organization: 'ORG' }],
      ['an empty name', { organization: 'ORG', name: '' }],
      ['a blank name', { organization: 'ORG', name: '   ' }],
      ['a name over 255 characters', { organization: 'ORG', name: huge }],
      ['a numeric name', { organization: 'ORG', name: 42 }],
      ['a null name', { organization: 'ORG', name: null }],
      ['a description over 10000 characters', { organization: 'ORG', name: 'n', description: 'd'.repeat(10_001) }],
      ['a malformed organization', { organization: 'nope', name: 'n' }],
      ['an object as organization', { organization: { id: 'x' }, name: 'n' }],
      ['an unknown field', { organization: 'ORG', name: 'n', colour: 'red' }],
      ['an array body', ['ORG']],
      ['a string body', 'ORG'],
    ])('refuses %s with 400 and stores nothing', async (_label, body) => {
      const before = await snapshot(h);
      const payload = JSON.parse(JSON.stringify(body).replace(/ORG/g, org.id));
      const res = await h.call('POST', '/api/v1/projects/', org.admin, { body: payload });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await snapshot(h)).toEqual(before);
    });

    it('refuses malformed JSON (400), a non-JSON body (415) and a body over 1 MiB (413)', async () => {
      const before = await snapshot(h);
      const project = await h.db('projects').where({ organization_id: org.id }).first();
      const malformed = await h.call('POST', '/api/v1/projects/', org.admin, { raw: '{"name":', headers: { 'content-type': 'application/json' } });
      expect(malformed.status).toBe(400);
      const text = await h.call('PATCH', `/api/v1/projects/${project.id}`, org.admin, { raw: 'name=x', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
      const big = await h.call('PUT', `/api/v1/projects/${project.id}`, org.admin, { body: { name: 'n', description: 'd'.repeat(1024 * 1024 + 1) } });
      expect(big.status).toBe(413);
      expect(await snapshot(h)).toEqual(before);
    });

    it('refuses bad list parameters and cursors with 400', async () => {
      expect((await h.call('GET', '/api/v1/projects/?organization=nope', org.member)).status).toBe(404);
      for (const query of ['limit=0', 'limit=abc', 'cursor=garbage', `cursor=${Buffer.from('["x","y"]').toString('base64url')}`]) {
        const res = await h.call('GET', `/api/v1/projects/?${query}`, org.member);
        expect([query, res.status]).toEqual([query, 400]);
      }
    });

    it('refuses a bad PATCH body with 400 and changes nothing', async () => {
      const project = await seedProject(h, org.admin, org.id, 'Stable');
      const before = await snapshot(h);
      for (const body of [{ name: '' }, { name: 7 }, { description: null }, { organization: randomUUID() }, { id: randomUUID() }]) {
        const res = await h.call('PATCH', `/api/v1/projects/${project.id}`, org.admin, { body });
        expect([body, res.status]).toEqual([body, 400]);
      }
      expect(await snapshot(h)).toEqual(before);
    });

    it('answers unknown routes with a JSON 404 and wrong methods with a JSON 405', async () => {
      expect((await h.call('GET', '/api/v1/projectz/', org.admin)).status).toBe(404);
      const wrong = await h.call('POST', `/api/v1/projects/${randomUUID()}/`, org.admin, { body: {} });
      expect(wrong.status).toBe(405);
      expect(wrong.body.code).toBe('method_not_allowed');
    });
  });
});
