import { randomUUID } from 'node:crypto';
import { eventually } from '@taskflow/shared/testing';
import { type Harness, seedProject, seedTask, snapshot, startHarness, type TestUser } from './harness';

describe('tasks API', () => {
  let h: Harness;
  let org: Awaited<ReturnType<Harness['organization']>>;
  let project: { id: string };

  beforeAll(async () => {
    h = await startHarness();
    org = await h.organization();
    project = await seedProject(h, org.admin, org.id, 'Tasks home');
  });
  afterAll(() => h.close());

  const eventFor = <T extends 'work.task.created' | 'work.task.updated' | 'work.task.deleted'>(type: T, taskId: string, count = 1) =>
    eventually(() => {
      const found = h.eventsOf(type, (e) => e.data.task.id === taskId);
      return found.length >= count && found;
    });

  describe('create', () => {
    it.each(['owner', 'admin'] as const)('creates a task for an %s with the documented defaults and publishes work.task.created', async (role) => {
      const res = await h.call('POST', '/api/v1/tasks/', org[role], { body: { project: project.id, title: '  Write spec  ' } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        organization: org.id,
        project: project.id,
        title: 'Write spec',
        description: '',
        assigned_to: null,
        status: 'todo',
        priority: 'medium',
        due_date: null,
        created_by: org[role].id,
        created_at: expect.stringMatching(/Z$/),
        updated_at: expect.stringMatching(/Z$/),
        version: 1,
      });
      const [event] = await eventFor('work.task.created', res.body.id);
      expect(event).toMatchObject({ organization_id: org.id, actor_id: org[role].id, actor_email: org[role].email });
      expect(event!.data).toEqual({ task: { id: res.body.id, project_id: project.id, title: 'Write spec', assigned_to: null } });
    });

    it('stores every field given, including a leap-day due date', async () => {
      const body = { project: project.id, title: 'Full', description: 'All fields', assigned_to: org.member.id, status: 'review', priority: 'high', due_date: '2028-02-29' };
      const res = await h.call('POST', '/api/v1/tasks', org.owner, { body });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ ...body, project: project.id });
      expect((await h.call('GET', `/api/v1/tasks/${res.body.id}`, org.member)).body).toEqual(res.body);
    });

    it('refuses a member with 403 and stores nothing', async () => {
      const before = await snapshot(h);
      const res = await h.call('POST', '/api/v1/tasks/', org.member, { body: { project: project.id, title: 'Mine' } });
      expect(res.status).toBe(403);
      expect(await snapshot(h)).toEqual(before);
    });

    it('reports a project of another organization exactly like one that does not exist', async () => {
      const foreignOrg = await h.organization();
      const foreign = await seedProject(h, foreignOrg.admin, foreignOrg.id);
      const before = await snapshot(h);
      const other = await h.call('POST', '/api/v1/tasks/', org.admin, { body: { project: foreign.id, title: 'X' } });
      const missing = await h.call('POST', '/api/v1/tasks/', org.admin, { body: { project: randomUUID(), title: 'X' } });
      expect(other.status).toBe(400);
      expect(other.body.errors).toEqual({ project: ['Project not found.'] });
      expect(missing.body).toEqual(other.body);
      expect(await snapshot(h)).toEqual(before);
    });

    it('refuses an assignee who is not a member of the organization (400 errors.assigned_to)', async () => {
      const foreignOrg = await h.organization();
      const before = await snapshot(h);
      for (const assignee of [foreignOrg.member.id, randomUUID()]) {
        const res = await h.call('POST', '/api/v1/tasks/', org.admin, { body: { project: project.id, title: 'X', assigned_to: assignee } });
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual({ assigned_to: ['User is not a member of this organization.'] });
      }
      expect(await snapshot(h)).toEqual(before);
    });

    it('asks tenancy about an assignee the replica has not heard of yet, and accepts a member', async () => {
      const newcomer = h.user('newcomer');
      h.joinOnlyInTenancy(org.id, newcomer, 'member');
      const res = await h.call('POST', '/api/v1/tasks/', org.admin, { body: { project: project.id, title: 'For the newcomer', assigned_to: newcomer.id } });
      expect(res.status).toBe(201);
      expect(h.tenancyCalls).toContain(`/internal/v1/organizations/${org.id}/members/${newcomer.id}`);
      // And the newcomer can use the API at once, too.
      expect((await h.call('GET', `/api/v1/tasks/${res.body.id}`, newcomer)).status).toBe(200);
    });

    it('replays a repeated Idempotency-Key once and answers 422 for the key with another body', async () => {
      const headers = { 'idempotency-key': `t-${randomUUID()}` };
      const body = { project: project.id, title: 'Idempotent' };
      const results = await Promise.all([1, 2, 3].map(() => h.call('POST', '/api/v1/tasks/', org.admin, { body, headers })));
      expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect((await h.call('POST', '/api/v1/tasks/', org.admin, { body: { ...body, title: 'Changed' }, headers })).status).toBe(422);
      expect(await h.db('tasks').where({ title: 'Idempotent' }).count({ n: '*' }).first()).toEqual({ n: '1' });
      await eventFor('work.task.created', results[0]!.body.id);
    });
  });

  describe('update: the role matrix over HTTP', () => {
    type Caller = 'owner' | 'admin' | 'assigned member' | 'other member';
    const bodies: Record<string, (other: { project: string; member: string }) => Record<string, unknown>> = {
      title: () => ({ title: 'Renamed' }),
      'every member field': () => ({ title: 'T', description: 'D', status: 'done', priority: 'low', due_date: '2030-01-01' }),
      'assigned_to (reassign)': (o) => ({ assigned_to: o.member }),
      'assigned_to (unassign)': () => ({ assigned_to: null }),
      'project (move)': (o) => ({ project: o.project }),
      'status + a read-only field': () => ({ status: 'done', organization: randomUUID() }),
    };
    const callers: Caller[] = ['owner', 'admin', 'assigned member', 'other member'];
    const memberFields = ['title', 'every member field'];
    const expected = (caller: Caller, fieldSet: string) => {
      if (caller === 'other member') return 403;
      if (caller === 'assigned member') return memberFields.includes(fieldSet) ? 200 : 403;
      return fieldSet === 'status + a read-only field' ? 400 : 200;
    };
    const matrix = callers.flatMap((caller) => Object.keys(bodies).map((fieldSet) => ({ caller, fieldSet, status: expected(caller, fieldSet) })));

    it.each(matrix)('PATCH by $caller changing $fieldSet answers $status', async ({ caller, fieldSet, status }) => {
      const sibling = await seedProject(h, org.admin, org.id, 'Sibling');
      const task = await seedTask(h, org.admin, project.id, { assigned_to: org.member.id });
      const user: TestUser = caller === 'assigned member' ? org.member : caller === 'other member' ? org.otherMember : org[caller];
      const before = await snapshot(h);
      const res = await h.call('PATCH', `/api/v1/tasks/${task.id}/`, user, { body: bodies[fieldSet]!({ project: sibling.id, member: org.otherMember.id }) });
      expect(res.status).toBe(status);
      if (status === 200) {
        expect(res.body.version).toBe(2);
        expect(res.headers.get('etag')).toBe('"2"');
      } else {
        expect(await snapshot(h)).toEqual(before);
      }
    });

    it("names in the 403 the fields the assignee may not change, and those they may", async () => {
      const sibling = await seedProject(h, org.admin, org.id, 'Elsewhere');
      const task = await seedTask(h, org.admin, project.id, { assigned_to: org.member.id });
      const res = await h.call('PATCH', `/api/v1/tasks/${task.id}/`, org.member, { body: { title: 'ok', assigned_to: null, project: sibling.id } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('permission_denied');
      expect(res.body.detail).toBe("As the task's assignee you may change only title, description, status, priority, due_date; not assigned_to, project.");
      const other = await h.call('PATCH', `/api/v1/tasks/${task.id}/`, org.otherMember, { body: { title: 'no' } });
      expect(other.body.detail).toBe("Only owners, admins and the task's assignee may update a task.");
    });

    it.each(['owner', 'admin', 'assigned member', 'other member'] as Caller[])('PUT by %s', async (caller) => {
      const task = await seedTask(h, org.admin, project.id, { assigned_to: org.member.id });
      const user: TestUser = caller === 'assigned member' ? org.member : caller === 'other member' ? org.otherMember : org[caller];
      const full = { project: project.id, title: 'Put', description: 'Whole', assigned_to: org.member.id, status: 'in_progress', priority: 'high', due_date: null };
      const res = await h.call('PUT', `/api/v1/tasks/${task.id}`, user, { body: full });
      expect(res.status).toBe(caller === 'owner' || caller === 'admin' ? 200 : 403);
      if (res.status === 200) expect(res.body).toMatchObject(full);
    });

    it.each(['owner', 'admin', 'assigned member', 'other member'] as Caller[])('DELETE by %s', async (caller) => {
      const task = await seedTask(h, org.admin, project.id, { assigned_to: org.member.id });
      const user: TestUser = caller === 'assigned member' ? org.member : caller === 'other member' ? org.otherMember : org[caller];
      const res = await h.call('DELETE', `/api/v1/tasks/${task.id}/`, user);
      const allowed = caller === 'owner' || caller === 'admin';
      expect(res.status).toBe(allowed ? 204 : 403);
      expect(Boolean(await h.db('tasks').where({ id: task.id }).first())).toBe(!allowed);
      if (allowed) {
        const [event] = await eventFor('work.task.deleted', task.id);
        expect(event!.data.task).toEqual({ id: task.id, project_id: project.id, title: task.title, assigned_to: org.member.id });
      }
    });

    it.each(['owner', 'admin', 'member'] as const)('GET by a %s', async (role) => {
      const task = await seedTask(h, org.admin, project.id);
      const res = await h.call('GET', `/api/v1/tasks/${task.id}`, org[role]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(task);
      expect(res.headers.get('etag')).toBe('"1"');
    });
  });

  describe('update: semantics', () => {
    it('lets the assigned member PATCH without a project and publishes only the fields that changed', async () => {
      const task = await seedTask(h, org.admin, project.id, { assigned_to: org.member.id, title: 'Same' });
      const res = await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.member, { body: { title: 'Same', status: 'in_progress', due_date: '2031-12-31' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ project: project.id, status: 'in_progress', due_date: '2031-12-31', version: 2 });
      const [event] = await eventFor('work.task.updated', task.id);
      expect(event!.data).toEqual({ task: { id: task.id, project_id: project.id, title: 'Same', assigned_to: org.member.id }, changes: { status: ['todo', 'in_progress'], due_date: [null, '2031-12-31'] } });
      expect(event!.actor_id).toBe(org.member.id);
    });

    it('changes nothing and publishes nothing for a PATCH that repeats the current values', async () => {
      const task = await seedTask(h, org.admin, project.id, { title: 'Still' });
      const res = await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { body: { title: 'Still', status: 'todo' } });
      expect(res.status).toBe(200);
      expect(res.body.version).toBe(1);
      await eventFor('work.task.created', task.id);
      expect(h.eventsOf('work.task.updated', (e) => e.data.task.id === task.id)).toEqual([]);
    });

    it('moves a task between projects of its organization and reports the move', async () => {
      const target = await seedProject(h, org.admin, org.id, 'Target');
      const task = await seedTask(h, org.admin, project.id);
      const res = await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { body: { project: target.id } });
      expect(res.status).toBe(200);
      expect(res.body.project).toBe(target.id);
      const [event] = await eventFor('work.task.updated', task.id);
      expect(event!.data.changes).toEqual({ project: [project.id, target.id] });
      expect(event!.data.task.project_id).toBe(target.id);
    });

    it('never moves a task to another organization, even one the caller administers (400)', async () => {
      const second = await h.organization();
      await h.join(second.id, org.admin, 'owner');
      const elsewhere = await seedProject(h, org.admin, second.id, 'Elsewhere');
      const task = await seedTask(h, org.admin, project.id);
      const before = await snapshot(h);
      const res = await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { body: { project: elsewhere.id } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual({ project: ['A task cannot move to a project of another organization.'] });
      const hidden = await seedProject(h, second.admin, second.id, 'Hidden');
      await h.remove(second.id, org.admin);
      const invisible = await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { body: { project: hidden.id } });
      expect(invisible.status).toBe(400);
      expect(invisible.body.errors).toEqual({ project: ['Project not found.'] });
      const after = await snapshot(h);
      expect(after.tasks).toEqual(before.tasks);
    });

    it('requires the whole writable set for PUT', async () => {
      const task = await seedTask(h, org.admin, project.id);
      const res = await h.call('PUT', `/api/v1/tasks/${task.id}`, org.admin, { body: { title: 'Only a title' } });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.errors).sort()).toEqual(['assigned_to', 'description', 'due_date', 'priority', 'project', 'status']);
    });

    it('lets exactly one of several concurrent PATCHes with the same If-Match win; the rest get 412', async () => {
      const task = await seedTask(h, org.admin, project.id, { title: 'Contended' });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { body: { title: `Writer ${i}` }, headers: { 'if-match': '"1"' } })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
      const winner = results.find((r) => r.status === 200)!;
      const row = await h.db('tasks').where({ id: task.id }).first();
      expect(row).toMatchObject({ version: 2, title: winner.body.title });
      const updates = await eventFor('work.task.updated', task.id);
      expect(updates).toHaveLength(1);
    });

    it('refuses a stale If-Match on DELETE with 412 and keeps the task', async () => {
      const task = await seedTask(h, org.admin, project.id);
      await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { body: { title: 'v2' } });
      const res = await h.call('DELETE', `/api/v1/tasks/${task.id}`, org.admin, { headers: { 'if-match': '"1"' } });
      expect(res.status).toBe(412);
      expect(await h.db('tasks').where({ id: task.id }).first()).toBeDefined();
      expect((await h.call('DELETE', `/api/v1/tasks/${task.id}`, org.admin, { headers: { 'if-match': '"2"' } })).status).toBe(204);
    });
  });

  describe('bad input', () => {
    const huge = 'x'.repeat(256);
    const create: Array<[string, Record<string, unknown>]> = [
      ['no project', { title: 't' }],
      ['a malformed project', { project: '123', title: 't' }],
      ['no title', { project: 'P' }],
      ['an empty title', { project: 'P', title: '' }],
      ['a title over 255 characters', { project: 'P', title: huge }],
      ['a numeric title', { project: 'P', title: 5 }],
      ['a description that is not a string', { project: 'P', title: 't', description: ['a'] }],
      ['a description over 10000 characters', { project: 'P', title: 't', description: 'd'.repeat(10_001) }],
      ['an unknown status', { project: 'P', title: 't', status: 'blocked' }],
      ['an unknown priority', { project: 'P', title: 't', priority: 'urgent' }],
      ['an upper-case enum', { project: 'P', title: 't', priority: 'HIGH' }],
      ['an impossible date', { project: 'P', title: 't', due_date: '2026-02-30' }],
      ['a date with a time', { project: 'P', title: 't', due_date: '2026-02-03T10:00:00Z' }],
      ['a date in another format', { project: 'P', title: 't', due_date: '03/02/2026' }],
      ['a numeric date', { project: 'P', title: 't', due_date: 20260203 }],
      ['a malformed assignee', { project: 'P', title: 't', assigned_to: 'me' }],
      ['an unknown field', { project: 'P', title: 't', organization: 'x' }],
    ];
    it.each(create)('refuses a create with %s (400) and stores nothing', async (_label, body) => {
      const before = await snapshot(h);
      const payload = JSON.parse(JSON.stringify(body).replace(/"P"/g, JSON.stringify(project.id)));
      const res = await h.call('POST', '/api/v1/tasks/', org.admin, { body: payload });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_error');
      expect(await snapshot(h)).toEqual(before);
    });

    it('refuses bad PATCH and PUT bodies with 400 and changes nothing', async () => {
      const task = await seedTask(h, org.admin, project.id, { assigned_to: org.member.id });
      const before = await snapshot(h);
      const bad = [{ title: '' }, { title: null }, { status: 'nope' }, { priority: 1 }, { due_date: '2026-13-01' }, { assigned_to: 'none' }, { project: null }, { version: 9 }, { created_by: org.admin.id }];
      for (const method of ['PATCH', 'PUT']) {
        for (const body of bad) {
          const res = await h.call(method, `/api/v1/tasks/${task.id}`, org.admin, { body });
          expect([method, body, res.status]).toEqual([method, body, 400]);
        }
      }
      for (const raw of ['[]', '"text"', '12', 'null', '{"title":']) {
        const res = await h.call('PATCH', `/api/v1/tasks/${task.id}`, org.admin, { raw, headers: { 'content-type': 'application/json' } });
        expect([raw, res.status]).toEqual([raw, 400]);
      }
      expect(await snapshot(h)).toEqual(before);
    });

    it('answers 404 for a malformed or unknown task id on every method', async () => {
      for (const id of ['abc', randomUUID(), '00000000-0000-0000-0000-00000000000g']) {
        for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
          const res = await h.call(method, `/api/v1/tasks/${id}/`, org.owner, method === 'PATCH' ? { body: { title: 'x' } } : undefined);
          expect([method, id, res.status]).toEqual([method, id, method === 'PUT' ? (id === 'abc' || id.endsWith('g') ? 404 : 400) : 404]);
        }
      }
    });
  });
});
