import { randomUUID } from 'node:crypto';
import { createDb, type EventEnvelope, type Knex, type NewEvent, type Role } from '@taskflow/shared';
import { createTestDatabase, createTestTokens, createTestVhost, eventually, openEventStream, request, type TestDatabase, type TestEventStream, type TestVhost } from '@taskflow/shared/testing';
import { AUDIT_SCHEMA } from '../src/db/migrations';
import { startAudit } from './start';
import { envelopeOf, events, newUser, publishEnvelopes, startTenancyStandIn, type TestUser } from './support';

const serviceToken = 'audit-notifications-test-service-token';

interface Notification {
  id: string;
  kind: string;
  organization: string;
  actor: string | null;
  actor_email: string | null;
  target: { type: string; id: string };
  message: string;
  created_at: string;
  read_at: string | null;
}

interface Page {
  results: Notification[];
  next: string | null;
}

const taskUpdated = (org: string, actor: TestUser, task: { id: string; title: string; assigned_to: string | null }, changes: Record<string, [unknown, unknown]>): NewEvent<'work.task.updated'> => ({
  type: 'work.task.updated',
  organization_id: org,
  actor,
  data: { task: { ...task, project_id: randomUUID() }, changes },
});

describe('notifications', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let tenancy: Awaited<ReturnType<typeof startTenancyStandIn>>;
  let audit: { url: string; close(): Promise<void> };
  let db: Knex;
  const tokens = createTestTokens();

  const call = <T>(user: TestUser | null, method: string, path: string, body?: unknown) =>
    request<T>(audit.url, method, path, { ...(user ? { token: tokens.sign(user) } : {}), ...(body === undefined ? {} : { body }) });
  const list = (user: TestUser, query = '') => call<Page>(user, 'GET', `/api/v1/notifications/${query}`);
  const unreadCount = async (user: TestUser) => {
    const res = await call<{ count: number }>(user, 'GET', '/api/v1/notifications/unread-count/');
    expect(res.status).toBe(200);
    return res.body.count;
  };

  /** Publishes the events and waits until audit has applied every one (its activity entry commits with its notifications). */
  async function publish(...list: NewEvent[]): Promise<EventEnvelope[]> {
    const envelopes = list.map((event) => envelopeOf(event));
    await publishEnvelopes(vhost.url, envelopes);
    const ids = envelopes.map((e) => e.id);
    await eventually(async () => Number((await db('activity').whereIn('id', ids).count({ n: '*' }).first())!.n) === ids.length, 10000);
    return envelopes;
  }

  /** A fresh organization with the given members (each added by the owner). */
  async function organization(...members: Array<[TestUser, Role]>): Promise<string> {
    const org = randomUUID();
    await publish(...members.map(([user, role]) => events.membershipAdded(org, user, role, 1, members[0]![0])));
    return org;
  }

  const kindsOf = (page: Page) => page.results.map((n) => n.kind);

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    tenancy = await startTenancyStandIn(serviceToken);
    audit = await startAudit({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken });
    db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 2 });
  });

  afterAll(async () => {
    await audit?.close();
    await db?.destroy();
    await tenancy?.close();
    await database?.drop();
    await vhost?.drop();
  });

  describe('kinds, each for the person it concerns and never the actor', () => {
    it('tells the assignee of a task created for them, not the creator', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      const taskId = randomUUID();
      const [created] = await publish({
        type: 'work.task.created',
        organization_id: org,
        actor: owner,
        data: { task: { id: taskId, project_id: randomUUID(), title: 'Write spec', assigned_to: grace.id } },
      });

      const res = await list(grace);
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([
        {
          id: expect.any(String),
          kind: 'task.assigned',
          organization: org,
          actor: owner.id,
          actor_email: owner.email,
          target: { type: 'task', id: taskId },
          message: "Assigned you task 'Write spec'",
          created_at: created!.occurred_at,
          read_at: null,
        },
      ]);
      expect((await list(owner)).body.results).toEqual([]);
    });

    it('tells the new assignee task.assigned and the previous one task.unassigned, not the actor', async () => {
      const [owner, grace, alan] = [newUser('owner'), newUser('grace'), newUser('alan')];
      const org = await organization([owner, 'owner'], [grace, 'member'], [alan, 'member']);
      const task = { id: randomUUID(), title: 'Review', assigned_to: alan.id };
      await publish(taskUpdated(org, owner, task, { assigned_to: [grace.id, alan.id] }));

      expect(kindsOf((await list(alan)).body)).toEqual(['task.assigned']);
      expect(kindsOf((await list(grace)).body)).toEqual(['task.unassigned']);
      expect((await list(owner)).body.results).toEqual([]);
    });

    it('does not tell people who assign a task to themselves or unassign themselves', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      const taskId = randomUUID();
      await publish(
        taskUpdated(org, grace, { id: taskId, title: 'Mine', assigned_to: grace.id }, { assigned_to: [null, grace.id] }),
        taskUpdated(org, grace, { id: taskId, title: 'Mine', assigned_to: null }, { assigned_to: [grace.id, null] }),
      );
      expect((await list(grace)).body.results).toEqual([]);
      expect((await list(owner)).body.results).toEqual([]);
    });

    it('tells the assignee when someone else changes the status, priority, due date or title, and names the fields', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      const task = { id: randomUUID(), title: 'Ship it', assigned_to: grace.id };
      await publish(taskUpdated(org, owner, task, { status: ['todo', 'done'], due_date: [null, '2026-12-01'] }));

      const res = await list(grace);
      expect(res.body.results.map((n) => [n.kind, n.message])).toEqual([['task.changed', "Changed status, due date of task 'Ship it'"]]);
      expect((await list(owner)).body.results).toEqual([]);
    });

    it('does not tell the assignee of their own changes, nor of changes to other fields', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      const task = { id: randomUUID(), title: 'Quiet', assigned_to: grace.id };
      await publish(taskUpdated(org, grace, task, { status: ['todo', 'done'] }), taskUpdated(org, owner, task, { description: ['a', 'b'] }));
      expect((await list(grace)).body.results).toEqual([]);
    });

    it('tells the inviter when their invitation is accepted, not the person who accepted it', async () => {
      const [owner, admin, joiner] = [newUser('owner'), newUser('admin'), newUser('joiner')];
      const org = await organization([owner, 'owner'], [admin, 'admin']);
      const [sent] = await publish(events.inviteSent(org, joiner.email, admin));
      const { invite, organization: orgSummary } = (sent as EventEnvelope<'tenancy.invite.sent'>).data;
      await publish({ type: 'tenancy.invite.accepted', organization_id: org, actor: joiner, data: { invite, organization: orgSummary } });

      const res = await list(admin);
      expect(res.body.results.map((n) => [n.kind, n.actor, n.target])).toEqual([['invite.accepted', joiner.id, { type: 'invite', id: invite.id }]]);
      expect((await list(joiner)).body.results).toEqual([]);
      expect((await list(owner)).body.results).toEqual([]);
    });

    it('tells a member of their role change and their removal, and nobody else', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      await publish(events.membershipRoleChanged(org, grace, 'member', 'admin', 2, owner));
      await publish(events.membershipRemoved(org, grace, 'admin', 3, owner));

      const res = await list(grace);
      expect(res.body.results.map((n) => [n.kind, n.message])).toEqual([
        ['membership.removed', 'Removed you from the organization'],
        ['membership.role_changed', 'Changed your role from member to admin'],
      ]);
      expect((await list(owner)).body.results).toEqual([]);
    });

    it('does not tell a member who leaves, and sends nothing new from an organization they left but keeps the old', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      await publish(taskUpdated(org, owner, { id: randomUUID(), title: 'Before', assigned_to: grace.id }, { assigned_to: [null, grace.id] }));
      await publish(events.membershipRemoved(org, grace, 'member', 2, grace));
      await publish(taskUpdated(org, owner, { id: randomUUID(), title: 'After', assigned_to: grace.id }, { assigned_to: [null, grace.id] }));

      expect((await list(grace)).body.results.map((n) => n.message)).toEqual(["Assigned you task 'Before'"]);
    });

    it('notifies once when the same event is delivered twice', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      const envelope = envelopeOf(taskUpdated(org, owner, { id: randomUUID(), title: 'Twice', assigned_to: grace.id }, { assigned_to: [null, grace.id] }));
      await publishEnvelopes(vhost.url, [envelope], 2);
      await eventually(async () => (await list(grace)).body.results.length === 1, 10000);
      // Both copies were queued before this one; once it is applied, the copies have been handled.
      await publish(events.taskCreated(org, 'Marker', owner));
      expect((await list(grace)).body.results).toHaveLength(1);
    });
  });

  describe('reading and marking', () => {
    /** Grace with three task.assigned notifications, newest first. */
    async function graceWithThree(): Promise<{ grace: TestUser; owner: TestUser; ids: string[] }> {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      for (const title of ['One', 'Two', 'Three']) {
        await publish(taskUpdated(org, owner, { id: randomUUID(), title, assigned_to: grace.id }, { assigned_to: [null, grace.id] }));
      }
      const res = await list(grace);
      expect(res.body.results.map((n) => n.message)).toEqual(["Assigned you task 'Three'", "Assigned you task 'Two'", "Assigned you task 'One'"]);
      return { grace, owner, ids: res.body.results.map((n) => n.id) };
    }

    it('answers 401 without a token on every route', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/notifications/'],
        ['GET', '/api/v1/notifications/unread-count/'],
        ['POST', '/api/v1/notifications/read/'],
        ['GET', '/api/v1/notifications/preferences/'],
        ['PATCH', '/api/v1/notifications/preferences/'],
      ] as const) {
        expect((await call(null, method, path, method === 'GET' ? undefined : {})).status).toBe(401);
      }
    });

    it('marks the listed ids read; the unread filter and count follow', async () => {
      const { grace, ids } = await graceWithThree();
      expect(await unreadCount(grace)).toBe(3);

      const res = await call(grace, 'POST', '/api/v1/notifications/read/', { ids: [ids[0], ids[2]] });
      expect(res.status).toBe(204);

      expect(await unreadCount(grace)).toBe(1);
      expect((await list(grace, '?unread=true')).body.results.map((n) => n.id)).toEqual([ids[1]]);
      const all = (await list(grace)).body.results;
      expect(all.map((n) => n.read_at === null)).toEqual([false, true, false]);
    });

    it('marks everything read with all: true', async () => {
      const { grace } = await graceWithThree();
      expect((await call(grace, 'POST', '/api/v1/notifications/read/', { all: true })).status).toBe(204);
      expect(await unreadCount(grace)).toBe(0);
      expect((await list(grace, '?unread=true')).body.results).toEqual([]);
      expect((await list(grace)).body.results).toHaveLength(3);
    });

    it("never shows one user another's notifications, and their ids or all: true change nothing of the other's", async () => {
      const { grace, owner, ids } = await graceWithThree();
      expect((await list(owner)).body.results).toEqual([]);
      expect(await unreadCount(owner)).toBe(0);

      expect((await call(owner, 'POST', '/api/v1/notifications/read/', { ids })).status).toBe(204);
      expect((await call(owner, 'POST', '/api/v1/notifications/read/', { all: true })).status).toBe(204);

      expect(await unreadCount(grace)).toBe(3);
      const stored = await db('notifications').whereIn('id', ids).whereNull('read_at').count({ n: '*' }).first();
      expect(Number(stored!.n)).toBe(3);
    });

    it('pages newest first with next links, and rejects a bad cursor', async () => {
      const { grace, ids } = await graceWithThree();
      const first = await list(grace, '?limit=2');
      expect(first.body.results.map((n) => n.id)).toEqual(ids.slice(0, 2));
      expect(first.body.next).toEqual(expect.stringContaining('cursor='));
      const second = await call<Page>(grace, 'GET', first.body.next!);
      expect(second.body.results.map((n) => n.id)).toEqual(ids.slice(2));
      expect(second.body.next).toBeNull();

      expect((await list(grace, '?cursor=nonsense')).status).toBe(400);
    });

    it('answers 400 to a malformed unread filter or mark-read body', async () => {
      const grace = newUser('grace');
      expect((await list(grace, '?unread=yes')).status).toBe(400);
      for (const body of [{}, { ids: [] }, { ids: ['not-a-uuid'] }, { all: false }, { ids: [randomUUID()], extra: 1 }]) {
        const res = await call(grace, 'POST', '/api/v1/notifications/read/', body);
        expect(res.status).toBe(400);
      }
    });
  });

  describe('preferences', () => {
    it('defaults every mailed kind to on', async () => {
      const res = await call(newUser('fresh'), 'GET', '/api/v1/notifications/preferences/');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ email: { 'task.assigned': true, 'invite.received': true } });
    });

    it('keeps a change and leaves the other kind as it was, for that user only', async () => {
      const [grace, other] = [newUser('grace'), newUser('other')];
      const patched = await call(grace, 'PATCH', '/api/v1/notifications/preferences/', { email: { 'task.assigned': false } });
      expect(patched.status).toBe(200);
      expect(patched.body).toEqual({ email: { 'task.assigned': false, 'invite.received': true } });

      await call(grace, 'PATCH', '/api/v1/notifications/preferences/', { email: { 'invite.received': false } });
      expect((await call(grace, 'GET', '/api/v1/notifications/preferences/')).body).toEqual({ email: { 'task.assigned': false, 'invite.received': false } });
      expect((await call(other, 'GET', '/api/v1/notifications/preferences/')).body).toEqual({ email: { 'task.assigned': true, 'invite.received': true } });
    });

    it('answers 400 to unknown kinds and non-boolean values, storing nothing', async () => {
      const grace = newUser('grace');
      for (const body of [{ email: { 'task.changed': false } }, { email: { 'task.assigned': 'no' } }, { email: 'off' }, { mail: {} }]) {
        expect((await call(grace, 'PATCH', '/api/v1/notifications/preferences/', body)).status).toBe(400);
      }
      expect(await db('notification_preferences').where('user_id', grace.id).first()).toBeUndefined();
    });
  });

  describe('stream', () => {
    const streams: TestEventStream[] = [];
    const follow = async (user: TestUser, headers: Record<string, string> = {}) => {
      const stream = await openEventStream(audit.url, '/api/v1/notifications/stream/', { token: tokens.sign(user), headers });
      streams.push(stream);
      return stream;
    };
    afterEach(() => streams.splice(0).forEach((stream) => stream.close()));

    const assign = (org: string, actor: TestUser, to: TestUser, title: string) =>
      taskUpdated(org, actor, { id: randomUUID(), title, assigned_to: to.id }, { assigned_to: [null, to.id] });

    it("streams the caller's new notifications only, never another user's", async () => {
      const [owner, grace, alan] = [newUser('owner'), newUser('grace'), newUser('alan')];
      const org = await organization([owner, 'owner'], [grace, 'member'], [alan, 'member']);
      const stream = await follow(grace);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toContain('text/event-stream');
      await publish(assign(org, owner, alan, 'For Alan'), assign(org, owner, grace, 'For Grace'));

      const [event] = await stream.waitForEvents(1);
      expect(event!.event).toBe('task.assigned');
      expect(JSON.parse(event!.data)).toMatchObject({ kind: 'task.assigned', message: "Assigned you task 'For Grace'", read_at: null });
      const stored = (await list(grace)).body.results;
      expect(stream.events.map((e) => e.id)).toEqual(stored.map((n) => n.id));
    });

    it('after a reconnect with Last-Event-ID sends exactly the missed notifications in order, then live ones', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      const first = await follow(grace);
      await publish(assign(org, owner, grace, 'Before'));
      await first.waitForEvents(1);
      first.close();
      for (const title of ['Missed 1', 'Missed 2', 'Missed 3']) await publish(assign(org, owner, grace, title));

      const again = await follow(grace, { 'last-event-id': first.events[0]!.id! });
      await again.waitForEvents(3);
      await publish(assign(org, owner, grace, 'Live'));
      await again.waitForEvents(4);
      expect(again.events.map((e) => JSON.parse(e.data).message)).toEqual([
        "Assigned you task 'Missed 1'",
        "Assigned you task 'Missed 2'",
        "Assigned you task 'Missed 3'",
        "Assigned you task 'Live'",
      ]);
    });

    it("answers 400 to a Last-Event-ID that is not one of the caller's notifications", async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      const org = await organization([owner, 'owner'], [grace, 'member']);
      await publish(assign(org, owner, grace, 'Hers'));
      const [hers] = (await list(grace)).body.results;
      const foreign = await follow(owner, { 'last-event-id': hers!.id });
      expect(foreign.status).toBe(400);
      expect(foreign.body).toMatchObject({ code: 'invalid_last_event_id' });
      expect((await follow(owner, { 'last-event-id': 'garbage' })).status).toBe(400);
    });

    it('answers 401 without a token', async () => {
      const stream = await openEventStream(audit.url, '/api/v1/notifications/stream/');
      streams.push(stream);
      expect(stream.status).toBe(401);
    });
  });
});
