// The typed client against the running system: every call here is checked at compile time against the
// committed OpenAPI document, and the first test fails when that document drifts from the services.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ActivityEntry, Member, Organization, Problem, Project, Task, TaskPage, User } from '../../clients/typescript/src';
import { randomUUID } from 'node:crypto';
import { allItems, followActivity, followNotifications, PageError, type StreamEvent, StreamRefusedError } from '../../clients/typescript/src';
import { fetchOpenApiDocument } from '../../clients/typescript/src/document';
import { eventually } from '@taskflow/shared/testing';
import { type Account, newAccount, startSystem, type System } from './system';

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

  describe('stream and page helpers', () => {
    let owner: Account;
    let org: string;
    let project: string;
    beforeAll(async () => {
      owner = await newAccount(system, 'helpers');
      org = (await owner.client.POST('/api/v1/organizations/', { body: { name: 'Helpers' } })).data!.id;
      project = (await owner.client.POST('/api/v1/projects/', { body: { organization: org, name: 'Helpers' } })).data!.id;
      // The set-up's own entries land first, so the stream below carries only the tasks.
      await eventually(async () => (await owner.client.GET('/api/v1/activity/', { params: { query: { organization: org, verb: 'project.created' } } })).data!.results.length === 1, 10_000);
    });

    const createTasks = async (prefix: string, n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i += 1) ids.push((await owner.client.POST('/api/v1/tasks/', { body: { project, title: `${prefix} ${i}` } })).data!.id);
      return ids;
    };
    /** A fetch whose connections can be cut as a network would, recording each request's Last-Event-ID; `opened` settles once the first answered. */
    const cuttableFetch = () => {
      const connections: Array<{ lastEventId: string | null; cut: AbortController }> = [];
      let markOpened!: () => void;
      const opened = new Promise<void>((resolve) => (markOpened = resolve));
      const cuttable: typeof fetch = async (input, init) => {
        const cut = new AbortController();
        connections.push({ lastEventId: new Headers(init?.headers).get('last-event-id'), cut });
        const response = await fetch(input, { ...init, signal: AbortSignal.any([cut.signal, ...(init?.signal ? [init.signal] : [])]) });
        // The headers come once the stream is subscribed: what is committed from now on is delivered.
        markOpened();
        return response;
      };
      return { connections, opened, fetch: cuttable };
    };
    const next = async <T>(events: AsyncGenerator<StreamEvent<T>>, n: number) => {
      const got: Array<StreamEvent<T>> = [];
      while (got.length < n) {
        const step = await events.next();
        if (step.done) throw new Error('the stream ended');
        got.push(step.value);
      }
      return got;
    };

    it('follows the change feed through the gateway, reconnects by itself after a drop with Last-Event-ID, and misses nothing', async () => {
      const stop = new AbortController();
      const { connections, opened, fetch: cuttable } = cuttableFetch();
      const events = followActivity(system.url, { organization: org, token: () => owner.access, signal: stop.signal, fetch: cuttable, retryMs: 20 });
      try {
        const first = next(events, 2);
        await opened;
        const seen = await createTasks('Seen', 2);
        const before = await first;
        expect(before.map((e) => [e.event, e.data.target.id])).toEqual(seen.map((id) => ['task.created', id]));

        connections[0]!.cut.abort();
        const missed = await createTasks('Missed', 3);
        const after = await next(events, 3);
        expect(after.map((e) => e.data.target.id)).toEqual(missed);
        expect(connections.map((c) => c.lastEventId)).toEqual([null, before[1]!.id]);
      } finally {
        stop.abort();
      }
      expect(await events.next()).toEqual({ done: true, value: undefined });
    });

    it('follows the caller\'s notifications, and refuses for good what reconnecting cannot fix', async () => {
      const colleague = await newAccount(system, 'helpers-colleague');
      const stop = new AbortController();
      const { opened, fetch: watched } = cuttableFetch();
      const notifications = followNotifications(system.url, { token: colleague.access, signal: stop.signal, fetch: watched });
      try {
        const got = next(notifications, 2);
        await opened;
        const invite = await owner.call('POST', '/api/v1/invites/', { organization: org, email: colleague.email, role: 'member' });
        expect(invite.status).toBe(201);
        const accepted = await colleague.call('POST', `/api/v1/invites/accept/${invite.body.token}/`);
        expect(accepted.status).toBe(200);
        await eventually(async () => (await owner.client.GET('/api/v1/organizations/{id}/members/', { params: { path: { id: org } } })).data!.results.length === 2, 10_000);
        await owner.client.POST('/api/v1/tasks/', { body: { project, title: 'For the colleague', assigned_to: colleague.id } });
        expect((await got).map((e) => [e.event, e.data.kind])).toEqual([
          ['invite.received', 'invite.received'],
          ['task.assigned', 'task.assigned'],
        ]);
      } finally {
        stop.abort();
      }

      const outsider = await newAccount(system, 'helpers-stranger');
      const refused = followActivity(system.url, { organization: org, token: outsider.access });
      await expect(refused.next()).rejects.toEqual(expect.any(StreamRefusedError));
      await expect(followActivity(system.url, { organization: org, token: outsider.access }).next()).rejects.toMatchObject({ status: 404 });
    });

    it('iterates over every item of a list across its pages, and throws the problem of a refused page', async () => {
      const created = await createTasks('Paged', 5);
      const items: string[] = [];
      for await (const task of allItems((cursor) => owner.client.GET('/api/v1/tasks/', { params: { query: { project, ordering: 'created_at', limit: 2, ...(cursor ? { cursor } : {}) } } }))) {
        items.push(task.title);
      }
      const titles = (await owner.client.GET('/api/v1/tasks/', { params: { query: { project, ordering: 'created_at', limit: 200 } } })).data!.results.map((t) => t.title);
      expect(items).toEqual(titles);
      expect(items.filter((t) => t.startsWith('Paged'))).toHaveLength(created.length);
      const foreign = allItems((cursor) => owner.client.GET('/api/v1/activity/', { params: { query: { organization: randomUUID(), ...(cursor ? { cursor } : {}) } } }));
      await expect(foreign.next()).rejects.toMatchObject({ status: 404, problem: { code: 'not_found' } });
      await expect(allItems(() => owner.client.GET('/api/v1/tasks/', { params: { query: { project, limit: 0 } } })).next()).rejects.toBeInstanceOf(PageError);
    });
  });
});
