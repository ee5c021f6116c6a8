// The typed client against the running system: every call here is checked at compile time against the
// committed OpenAPI document, and the first test fails when that document drifts from the services.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ActivityEntry, Member, Organization, Problem, Project, Task, TaskPage, User } from '../../clients/typescript/src';
import { fetchOpenApiDocument } from '../../clients/typescript/src/document';
import { newAccount, startSystem, type System } from './system';

describe('typed client', () => {
  let system: System;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(() => system.close());

  it('was generated from the document the services serve now (run `npm run generate:client` when this fails)', async () => {
    const committed = JSON.parse(readFileSync(path.resolve(__dirname, '../../clients/typescript/openapi.json'), 'utf8'));
    expect(await fetchOpenApiDocument(system.url)).toEqual(committed);
  });

  it('merges the services’ components without two of them defining one name differently', async () => {
    const served = await fetchOpenApiDocument(system.url);
    expect(served['x-component-conflicts']).toEqual([]);
    expect(Object.keys(served.components as object).sort()).toEqual(['examples', 'parameters', 'responses', 'schemas', 'securitySchemes']);
  });

  it('answers with the named types the client exports', async () => {
    const owner = await newAccount(system, 'named');
    const me: User | undefined = (await owner.client.GET('/api/v1/auth/me/')).data;
    const org: Organization = (await owner.client.POST('/api/v1/organizations/', { body: { name: 'Named Org' } })).data!;
    const project: Project = (await owner.client.POST('/api/v1/projects/', { body: { organization: org.id, name: 'Named' } })).data!;
    const task: Task = (await owner.client.POST('/api/v1/tasks/', { body: { project: project.id, title: 'Named task' } })).data!;
    const page: TaskPage = (await owner.client.GET('/api/v1/tasks/', { params: { query: { project: project.id } } })).data!;
    const members: Member[] = (await owner.client.GET('/api/v1/organizations/{id}/members/', { params: { path: { id: org.id } } })).data!.results;
    const activity = (await owner.client.GET('/api/v1/activity/', { params: { query: { organization: org.id } } })).data!;
    const verbs: Array<ActivityEntry['verb']> = activity.results.map((entry) => entry.verb);
    const missing: Problem | undefined = (await owner.client.GET('/api/v1/tasks/{id}/', { params: { path: { id: project.id } } })).error;
    expect(me?.id).toBe(owner.id);
    expect(page.results.map((t) => t.id)).toEqual([task.id]);
    expect(members.map((m) => m.user.id)).toEqual([owner.id]);
    expect(Array.isArray(verbs)).toBe(true);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('drives an organization, a project and tasks end to end with typed requests and responses', async () => {
    const owner = await newAccount(system, 'typed');
    const me = await owner.client.GET('/api/v1/auth/me/');
    expect(me.data?.email).toBe(owner.email);

    const org = await owner.client.POST('/api/v1/organizations/', { body: { name: 'Typed Org' } });
    expect(org.response.status).toBe(201);
    const orgId = org.data!.id;
    expect(org.data!.role).toBe('owner');

    const project = await owner.client.POST('/api/v1/projects/', { body: { organization: orgId, name: 'Roadmap' } });
    expect(project.response.status).toBe(201);
    const task = await owner.client.POST('/api/v1/tasks/', {
      body: { project: project.data!.id, title: 'Write the spec', priority: 'high', due_date: '2026-12-24', assigned_to: owner.id },
      headers: { 'Idempotency-Key': 'typed-1' },
    });
    expect(task.response.status).toBe(201);
    expect(task.data).toMatchObject({ organization: orgId, status: 'todo', priority: 'high', due_date: '2026-12-24', assigned_to: owner.id, version: 1 });
    const replay = await owner.client.POST('/api/v1/tasks/', {
      body: { project: project.data!.id, title: 'Write the spec', priority: 'high', due_date: '2026-12-24', assigned_to: owner.id },
      headers: { 'Idempotency-Key': 'typed-1' },
    });
    expect(replay.data?.id).toBe(task.data!.id);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');

    const etag = task.response.headers.get('etag') ?? (await owner.client.GET('/api/v1/tasks/{id}/', { params: { path: { id: task.data!.id } } })).response.headers.get('etag');
    const moved = await owner.client.PATCH('/api/v1/tasks/{id}/', {
      params: { path: { id: task.data!.id } },
      body: { status: 'in_progress' },
      headers: { 'If-Match': etag! },
    });
    expect(moved.response.status).toBe(200);
    expect(moved.data?.status).toBe('in_progress');

    const mine = await owner.client.GET('/api/v1/tasks/', { params: { query: { assigned_to: 'me', status: ['in_progress'], limit: 10 } } });
    expect(mine.data?.results.map((t) => t.id)).toEqual([task.data!.id]);

    const stale = await owner.client.PATCH('/api/v1/tasks/{id}/', { params: { path: { id: task.data!.id } }, body: { title: 'x' }, headers: { 'If-Match': etag! } });
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ status: 412, code: 'precondition_failed' });
  });
});
