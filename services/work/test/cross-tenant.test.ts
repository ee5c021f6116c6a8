// Every route and method, with ids of another organization in the path, the body and the filters.
import { type Harness, seedProject, seedTask, snapshot, startHarness } from './harness';

describe('cross-tenant access', () => {
  let h: Harness;
  let mine: Awaited<ReturnType<Harness['organization']>>;
  let theirs: Awaited<ReturnType<Harness['organization']>>;
  let myProject: { id: string };
  let myTask: { id: string };
  let theirProject: { id: string };
  let theirTask: { id: string };

  beforeAll(async () => {
    h = await startHarness();
    mine = await h.organization();
    theirs = await h.organization();
    myProject = await seedProject(h, mine.admin, mine.id, 'Mine');
    myTask = await seedTask(h, mine.admin, myProject.id, { assigned_to: mine.member.id });
    theirProject = await seedProject(h, theirs.admin, theirs.id, 'Theirs');
    theirTask = await seedTask(h, theirs.admin, theirProject.id, { assigned_to: theirs.member.id });
  });
  afterAll(() => h.close());

  // My owner is the strongest caller: even an owner elsewhere sees nothing of another organization.
  const paths: Array<[string, string, () => unknown]> = [
    ['GET', 'project', () => undefined],
    ['PATCH', 'project', () => ({ name: 'Taken' })],
    ['PUT', 'project', () => ({ name: 'Taken', description: '' })],
    ['DELETE', 'project', () => undefined],
    ['GET', 'task', () => undefined],
    ['PATCH', 'task', () => ({ title: 'Taken' })],
    ['PATCH', 'task', () => ({ project: myProject.id })],
    ['PUT', 'task', () => ({ project: myProject.id, title: 'Taken', description: '', assigned_to: null, status: 'done', priority: 'low', due_date: null })],
    ['DELETE', 'task', () => undefined],
  ];

  it.each(paths)('answers 404 to %s of another organization’s %s and changes nothing', async (method, kind, body) => {
    const before = await snapshot(h);
    const id = kind === 'project' ? theirProject.id : theirTask.id;
    for (const user of [mine.owner, mine.admin, mine.member]) {
      const res = await h.call(method, `/api/v1/${kind}s/${id}/`, user, { body: body(), headers: { 'if-match': '"1"' } });
      expect([user.email, res.status]).toEqual([user.email, 404]);
      expect(res.body.code).toBe('not_found');
    }
    expect(await snapshot(h)).toEqual(before);
  });

  it.each([
    ['a project in another organization', () => ['POST', '/api/v1/projects/', { organization: theirs.id, name: 'X' }], 'organization'],
    ['a task in a project of another organization', () => ['POST', '/api/v1/tasks/', { project: theirProject.id, title: 'X' }], 'project'],
    ['a task assigned to a member of another organization', () => ['POST', '/api/v1/tasks/', { project: myProject.id, title: 'X', assigned_to: theirs.member.id }], 'assigned_to'],
    ['a move of my task into a project of another organization', () => ['PATCH', `/api/v1/tasks/${myTask.id}/`, { project: theirProject.id }], 'project'],
    ['an assignment of my task to a member of another organization', () => ['PATCH', `/api/v1/tasks/${myTask.id}/`, { assigned_to: theirs.owner.id }], 'assigned_to'],
    [
      'a PUT of my task naming another organization’s project',
      () => ['PUT', `/api/v1/tasks/${myTask.id}/`, { project: theirProject.id, title: 'X', description: '', assigned_to: null, status: 'todo', priority: 'low', due_date: null }],
      'project',
    ],
  ] as Array<[string, () => [string, string, unknown], string]>)('refuses %s with 400 on that field and changes nothing', async (_label, make, field) => {
    const before = await snapshot(h);
    const [method, path, body] = make();
    const res = await h.call(method, path, mine.owner, { body });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.errors)).toEqual([field]);
    expect(await snapshot(h)).toEqual(before);
  });

  it('answers 404 for ?organization= of another organization on both lists', async () => {
    for (const list of ['projects', 'tasks']) {
      const res = await h.call('GET', `/api/v1/${list}/?organization=${theirs.id}`, mine.owner);
      expect([list, res.status]).toEqual([list, 404]);
    }
  });

  it('shows nothing of another organization through any task filter', async () => {
    const queries = [`project=${theirProject.id}`, `assigned_to=${theirs.member.id}`, 'q=Task', 'assigned_to=none', 'status=todo', `project=${theirProject.id}&organization=${mine.id}`];
    for (const query of queries) {
      const res = await h.call('GET', `/api/v1/tasks/?${query}&limit=200`, mine.owner);
      expect(res.status).toBe(200);
      const orgs = new Set(res.body.results.map((t: { organization: string }) => t.organization));
      expect([query, orgs.has(theirs.id)]).toEqual([query, false]);
    }
    const projects = await h.call('GET', '/api/v1/projects/?limit=200', mine.owner);
    expect(projects.body.results.map((p: { organization: string }) => p.organization)).not.toContain(theirs.id);
  });

  it('does not replay another user’s Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const theirsRes = await h.call('POST', '/api/v1/projects/', theirs.admin, { body: { organization: theirs.id, name: 'Keyed' }, headers });
    const mineRes = await h.call('POST', '/api/v1/projects/', mine.admin, { body: { organization: mine.id, name: 'Keyed' }, headers });
    expect(theirsRes.status).toBe(201);
    expect(mineRes.status).toBe(201);
    expect(mineRes.body.id).not.toBe(theirsRes.body.id);
    expect(mineRes.body.organization).toBe(mine.id);
  });
});
