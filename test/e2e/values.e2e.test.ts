// Hostile values through the gateway (API.md, Conventions: Values and If-Match): every date field, filter
// and cursor with a year outside 0001-9999, control characters in every name and title, and the If-Match
// forms of RFC 9110. Every answer is the documented 4xx problem, never a 500, and nothing changes.
import { randomUUID } from 'node:crypto';
import { encodeCursor } from '@taskflow/shared';
import { request } from '@taskflow/shared/testing';
import { dereference } from './dereference';
import { type Account, newAccount, startSystem, type System } from './system';

const YEAR_0000 = '0000-01-01';
const YEAR_0000_AT = '0000-06-01T00:00:00.000Z';
/** Written in year 0001, but its UTC instant is in year 0000. */
const YEAR_0000_BY_OFFSET = '0001-01-01T00:30:00+01:00';

describe('hostile values', () => {
  let system: System;
  let owner: Account;
  let org: { id: string };
  let project: { id: string };
  let task: { id: string };

  beforeAll(async () => {
    system = await startSystem();
    owner = await newAccount(system, 'valueowner');
    org = (await owner.call('POST', '/api/v1/organizations/', { name: 'Values Ltd' })).body;
    project = (await owner.call('POST', '/api/v1/projects/', { organization: org.id, name: 'Values' })).body;
    task = (await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Values task', due_date: '2026-04-15' })).body;
    expect(task.id).toEqual(expect.any(String));
  }, 60_000);
  afterAll(() => system?.close());

  /** Everything a refused request could have touched, as the owner reads it. */
  async function state() {
    const reads = await Promise.all([
      owner.call('GET', `/api/v1/organizations/${org.id}/`),
      owner.call('GET', `/api/v1/projects/${project.id}/`),
      owner.call('GET', `/api/v1/tasks/${task.id}/`),
      owner.call('GET', '/api/v1/organizations/'),
      owner.call('GET', '/api/v1/projects/'),
      owner.call('GET', '/api/v1/tasks/'),
    ]);
    return reads.map((r) => ({ status: r.status, etag: r.headers.get('etag'), body: r.body }));
  }

  /** The answer is this 4xx problem+json; with `field`, it names that field. */
  function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, field?: string) {
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: expect.stringContaining('application/problem+json') });
    if (field) expect(res.body.errors).toHaveProperty([field]);
  }

  describe('dates and timestamps outside the years 0001-9999 are 400', () => {
    const fullTask = () => ({ project: project.id, title: 'Full', description: '', assigned_to: null, status: 'todo', priority: 'low' });

    it.each([
      ['POST', () => '/api/v1/tasks/', () => ({ project: project.id, title: 'Year zero', due_date: YEAR_0000 })],
      ['PATCH', () => `/api/v1/tasks/${task.id}/`, () => ({ due_date: YEAR_0000 })],
      ['PATCH', () => `/api/v1/tasks/${task.id}/`, () => ({ due_date: '0000-02-29' })],
      ['PUT', () => `/api/v1/tasks/${task.id}/`, () => ({ ...fullTask(), due_date: '0000-12-31' })],
    ])('%s a task with due_date in year 0000', async (method, path, body) => {
      const before = await state();
      expectProblem(await owner.call(method, path(), body()), 400, 'due_date');
      expect(await state()).toEqual(before);
    });

    it.each([
      ['due_before', YEAR_0000],
      ['due_after', YEAR_0000],
      ['due_before', '0000-02-29'],
    ])('the task filter %s=%s', async (name, value) => {
      expectProblem(await owner.call('GET', `/api/v1/tasks/?${name}=${value}`), 400, name);
    });

    it.each([
      ['since', YEAR_0000_AT],
      ['until', YEAR_0000_AT],
      ['since', YEAR_0000_BY_OFFSET],
      ['until', '0000-01-01T00:00:00Z'],
    ])('the activity filter %s=%s', async (name, value) => {
      expectProblem(await owner.call('GET', `/api/v1/activity/?${name}=${encodeURIComponent(value)}`), 400, name);
    });

    const id = randomUUID();
    it.each([
      ['tasks by -created_at', '/api/v1/tasks/?ordering=-created_at', ['-created_at', YEAR_0000_AT, id]],
      ['tasks by updated_at', '/api/v1/tasks/?ordering=updated_at', ['updated_at', YEAR_0000_AT, id]],
      ['tasks by due_date', '/api/v1/tasks/?ordering=due_date', ['due_date', YEAR_0000, id]],
      ['tasks by -due_date', '/api/v1/tasks/?ordering=-due_date', ['-due_date', '0000-02-29', id]],
      ['projects', '/api/v1/projects/', [YEAR_0000_AT, id]],
      ['activity', '/api/v1/activity/', [YEAR_0000_AT, id]],
      ['organizations', '/api/v1/organizations/', [YEAR_0000_AT, id]],
      ['members', '/api/v1/organizations/{org}/members/', [YEAR_0000_AT, id]],
      ['my invites', '/api/v1/invites/mine/', [YEAR_0000_AT, id]],
    ])('a cursor of %s holding year 0000', async (_, path, values) => {
      const url = path.replace('{org}', org.id);
      const res = await owner.call('GET', `${url}${url.includes('?') ? '&' : '?'}cursor=${encodeCursor(values)}`);
      expectProblem(res, 400, 'cursor');
      expect(res.body.code).toBe('invalid_cursor');
    });

    it('still accepts the edges of the range', async () => {
      const first = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Edge', due_date: '0001-01-01' });
      expect(first.status).toBe(201);
      expect((await owner.call('PATCH', `/api/v1/tasks/${first.body.id}/`, { due_date: '9999-12-31' })).body.due_date).toBe('9999-12-31');
      expect((await owner.call('GET', '/api/v1/tasks/?due_after=0001-01-01&due_before=9999-12-31')).status).toBe(200);
      expect((await owner.call('GET', `/api/v1/activity/?since=0001-01-01T00:00:00Z&until=${encodeURIComponent('9999-12-31T18:00:00-05:00')}`)).status).toBe(200);
      expect((await owner.call('DELETE', `/api/v1/tasks/${first.body.id}/`)).status).toBe(204);
    });
  });

  describe('control characters in names and titles are 400 naming the field', () => {
    const hostile = ['bad\u0000name', 'bad\nname', 'bad\tname', 'bell\u0007', 'escape\u001b[31m', 'delete\u007f'];
    const cases: [string, string, () => string, (v: string) => Record<string, unknown>, string][] = [
      ['POST', 'organization name', () => '/api/v1/organizations/', (v) => ({ name: v }), 'name'],
      ['PATCH', 'organization name', () => `/api/v1/organizations/${org.id}/`, (v) => ({ name: v }), 'name'],
      ['POST', 'project name', () => '/api/v1/projects/', (v) => ({ organization: org.id, name: v }), 'name'],
      ['PATCH', 'project name', () => `/api/v1/projects/${project.id}/`, (v) => ({ name: v }), 'name'],
      ['PUT', 'project name', () => `/api/v1/projects/${project.id}/`, (v) => ({ name: v, description: '' }), 'name'],
      ['POST', 'task title', () => '/api/v1/tasks/', (v) => ({ project: project.id, title: v }), 'title'],
      ['PATCH', 'task title', () => `/api/v1/tasks/${task.id}/`, (v) => ({ title: v }), 'title'],
    ];

    it.each(cases)('%s %s', async (method, _, path, body, field) => {
      const before = await state();
      for (const value of hostile) expectProblem(await owner.call(method, path(), body(value)), 400, field);
      expect(await state()).toEqual(before);
    });

    it.each(['first_name', 'last_name'])('registering with a control character in %s', async (field) => {
      const email = `ctl.${randomUUID()}@example.com`;
      for (const value of hostile) {
        const res = await request(system.url, 'POST', '/api/v1/auth/register/', {
          body: { email, password: 'amber-lantern-9182', first_name: 'Ada', last_name: 'L', [field]: value },
        });
        expectProblem(res, 400, field);
      }
      // Nothing was registered: the address is still free.
      const login = await request(system.url, 'POST', '/api/v1/auth/login/', { body: { email, password: 'amber-lantern-9182' } });
      expect(login.status).toBe(401);
    });
  });

  describe('descriptions allow tab and newline only', () => {
    it.each([
      ['POST', 'project', () => '/api/v1/projects/', (v: string) => ({ organization: org.id, name: 'Described', description: v })],
      ['PATCH', 'project', () => `/api/v1/projects/${project.id}/`, (v: string) => ({ description: v })],
      ['POST', 'task', () => '/api/v1/tasks/', (v: string) => ({ project: project.id, title: 'Described', description: v })],
      ['PATCH', 'task', () => `/api/v1/tasks/${task.id}/`, (v: string) => ({ description: v })],
    ])('%s %s description', async (method, _, path, body) => {
      const before = await state();
      for (const value of ['a\r\nb', 'nul\u0000', 'vt\u000b', 'del\u007f', 'esc\u001b']) {
        expectProblem(await owner.call(method, path(), body(value)), 400, 'description');
      }
      expect(await state()).toEqual(before);
    });

    it('stores a description with tabs and newlines as sent', async () => {
      const res = await owner.call('POST', '/api/v1/tasks/', { project: project.id, title: 'Multi-line', description: 'one\ttwo\nthree\n' });
      expect(res.status).toBe(201);
      expect((await owner.call('GET', `/api/v1/tasks/${res.body.id}/`)).body.description).toBe('one\ttwo\nthree\n');
      expect((await owner.call('DELETE', `/api/v1/tasks/${res.body.id}/`)).status).toBe(204);
    });
  });

  describe('If-Match through the gateway', () => {
    const targets = [
      ['task', () => `/api/v1/tasks/${task.id}/`, { title: 'Guarded' }],
      ['project', () => `/api/v1/projects/${project.id}/`, { name: 'Guarded' }],
      ['organization', () => `/api/v1/organizations/${org.id}/`, { name: 'Guarded' }],
    ] as const;

    it.each(targets)('a %s refuses weak, zero-padded and stale tags with 412 and malformed values with 400', async (_, path, body) => {
      const before = await state();
      const current = (await owner.call('GET', path())).headers.get('etag')!;
      const version = current.replace(/"/g, '');
      for (const ifMatch of [`W/${current}`, `"0${version}"`, `"${Number(version) + 1}"`, `W/${current}, "999"`]) {
        for (const method of ['PATCH', 'DELETE']) {
          const res = await owner.call(method, path(), method === 'PATCH' ? body : undefined, { 'if-match': ifMatch });
          expectProblem(res, 412);
          expect(res.body.code).toBe('precondition_failed');
        }
      }
      for (const ifMatch of [version, 'nonsense', `${current};`, `w/${current}`, `* , ${current}`, `"a b"`]) {
        for (const method of ['PATCH', 'DELETE']) {
          const res = await owner.call(method, path(), method === 'PATCH' ? body : undefined, { 'if-match': ifMatch });
          expectProblem(res, 400);
          expect(res.body.code).toBe('invalid_if_match');
        }
      }
      expect(await state()).toEqual(before);
    });

    it('documents 400 invalid_if_match on exactly the operations that answer it', async () => {
      const doc = dereference((await request(system.url, 'GET', '/api/v1/openapi.json')).body);
      const answering: string[] = [];
      const documenting: string[] = [];
      for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
        for (const [method, op] of Object.entries(item)) {
          if (!['put', 'patch', 'delete'].includes(method)) continue;
          const key = `${method.toUpperCase()} ${template}`;
          if (op.responses['400']?.content['application/problem+json'].examples.invalid_if_match) documenting.push(key);
          // Ids nobody has and the documented example body: a malformed If-Match is refused before either is looked at.
          const body = op.requestBody?.content['application/json'].schema.examples?.[0];
          const res = await owner.call(method.toUpperCase(), template.replace(/\{[^}]+\}/g, () => randomUUID()), body, { 'if-match': 'nonsense' });
          if (res.status === 400 && res.body.code === 'invalid_if_match') answering.push(key);
        }
      }
      expect(documenting.sort()).toEqual(answering.sort());
      expect(answering.sort()).toEqual(
        ['organizations/{id}/', 'organizations/{id}/members/{user_id}/', 'projects/{id}/', 'tasks/{id}/', 'webhooks/{id}/']
          .flatMap((p) => (p.startsWith('projects') || p.startsWith('tasks') ? ['DELETE', 'PATCH', 'PUT'] : ['DELETE', 'PATCH']).map((m) => `${m} /api/v1/${p}`))
          .sort(),
      );
    });

    it('applies a write whose If-Match list holds the current tag, or is *', async () => {
      const current = (await owner.call('GET', `/api/v1/tasks/${task.id}/`)).headers.get('etag')!;
      const listed = await owner.call('PATCH', `/api/v1/tasks/${task.id}/`, { priority: 'high' }, { 'if-match': `"999", W/${current}, ${current}` });
      expect(listed.status).toBe(200);
      expect(listed.body.priority).toBe('high');
      const any = await owner.call('PATCH', `/api/v1/tasks/${task.id}/`, { priority: 'low' }, { 'if-match': '*' });
      expect(any.status).toBe(200);
      expect(any.body.priority).toBe('low');
    });
  });
});
