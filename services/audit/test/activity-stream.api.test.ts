import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { createDb, type EventEnvelope, inTransaction, type Knex, type NewEvent } from '@taskflow/shared';
import {
  createTestDatabase,
  createTestTokens,
  createTestVhost,
  eventually,
  openEventStream,
  request,
  type TestDatabase,
  type TestEventStream,
  type TestVhost,
} from '@taskflow/shared/testing';
import { AUDIT_SCHEMA } from '../src/db/migrations';
import { auditHandlers } from '../src/events/handlers';
import { startAudit } from './start';
import { envelopeOf, events, newUser, publishEnvelopes, startTenancyStandIn, type TestUser } from './support';

const serviceToken = 'audit-stream-test-service-token';
const STREAM = '/api/v1/activity/stream/';

describe('GET /api/v1/activity/stream/', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let tenancy: Awaited<ReturnType<typeof startTenancyStandIn>>;
  let audit: { url: string; close(): Promise<void> };
  let db: Knex;
  const tokens = createTestTokens();
  const open: TestEventStream[] = [];

  const orgA = randomUUID();
  const orgB = randomUUID();
  const ownerA = newUser('owner-a');
  const memberA = newUser('member-a');
  const ownerB = newUser('owner-b');

  async function follow(user: TestUser, query = '', headers: Record<string, string> = {}, url = audit.url, token = tokens.sign(user)): Promise<TestEventStream> {
    const stream = await openEventStream(url, `${STREAM}${query}`, { token, headers });
    open.push(stream);
    return stream;
  }

  /** Publishes `list` through the broker and waits until audit has recorded them all. */
  async function publish(...list: NewEvent[]): Promise<EventEnvelope[]> {
    const envelopes = list.map((e) => envelopeOf(e));
    await publishEnvelopes(vhost.url, envelopes);
    await eventually(async () => (await db('activity').whereIn('id', envelopes.map((e) => e.id)).count({ n: '*' }).first())!.n == envelopes.length, 10000);
    return envelopes;
  }

  const tasks = (org: string, actor: TestUser, n: number, prefix = 'Task') => Array.from({ length: n }, (_, i) => events.taskCreated(org, `${prefix} ${i}`, actor));
  const openStreams = async (url = audit.url) => {
    const text = (await request<string>(url, 'GET', '/metrics')).body;
    return Number(/^audit_open_streams(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    tenancy = await startTenancyStandIn(serviceToken);
    audit = await startAudit({
      databaseUrl: database.url,
      amqpUrl: vhost.url,
      tenancyUrl: tenancy.url,
      verifier: tokens.verifier,
      serviceToken,
      env: { STREAMS_PER_USER: '3', STREAM_HEARTBEAT_MS: '100', STREAM_BUFFER_BYTES: '65536' },
    });
    db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 2 });
    await publish(
      events.membershipAdded(orgA, ownerA, 'owner', 1),
      events.membershipAdded(orgA, memberA, 'member', 1, ownerA),
      events.membershipAdded(orgB, ownerB, 'owner', 1),
    );
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  afterAll(async () => {
    await audit?.close();
    await db?.destroy();
    await tenancy?.close();
    await database?.drop();
    await vhost?.drop();
  });

  it('sends each new entry of the organization as id, event and data, and nothing of another organization', async () => {
    const stream = await follow(memberA, `?organization=${orgA}`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await publish(events.taskCreated(orgB, 'Secret of B', ownerB));
    const [created] = await publish(events.taskCreated(orgA, 'Write spec', ownerA));
    const [event] = await stream.waitForEvents(1);
    expect(event).toMatchObject({ id: created!.id, event: 'task.created' });
    expect(JSON.parse(event!.data)).toMatchObject({ id: created!.id, organization: orgA, verb: 'task.created', action: "Created task 'Write spec'", actor: ownerA.id });
    await publish(events.taskCreated(orgA, 'Next', ownerA));
    await stream.waitForEvents(2);
    expect(stream.events.map((e) => e.data).join()).not.toContain('Secret of B');
  });

  it('without organization follows every organization of the caller, and only those', async () => {
    const stream = await follow(ownerB);
    const sent = await publish(events.taskCreated(orgA, 'A only', ownerA), events.taskCreated(orgB, 'B one', ownerB));
    const got = await stream.waitForEvents(1);
    await publish(events.taskCreated(orgB, 'B two', ownerB));
    await stream.waitForEvents(2);
    expect(got[0]!.id).toBe(sent[1]!.id);
    expect(stream.events.map((e) => JSON.parse(e.data).organization)).toEqual([orgB, orgB]);
  });

  it('answers 404 for an organization the caller does not belong to, 401 without a valid token, 400 for unknown parameters', async () => {
    const foreign = await follow(ownerB, `?organization=${orgA}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 'not_found' });
    const malformed = await follow(ownerB, '?organization=nope');
    expect(malformed.status).toBe(404);
    const anonymous = await openEventStream(audit.url, STREAM);
    expect(anonymous.status).toBe(401);
    const forged = await follow(ownerA, '', {}, audit.url, createTestTokens().sign(ownerA));
    expect(forged.status).toBe(401);
    const unknown = await follow(ownerA, '?since=2026-01-01T00:00:00Z');
    expect(unknown.status).toBe(400);
  });

  it('refuses a Last-Event-ID of another tenant or a malformed one with 400, revealing nothing', async () => {
    const [ofA] = await publish(events.taskCreated(orgA, 'A entry', ownerA));
    const foreign = await follow(ownerB, '', { 'last-event-id': ofA!.id });
    expect(foreign.status).toBe(400);
    expect(foreign.body).toMatchObject({ code: 'invalid_last_event_id' });
    expect(JSON.stringify(foreign.body)).not.toContain('A entry');
    expect((await follow(ownerB, '', { 'last-event-id': 'garbage' })).status).toBe(400);
    expect((await follow(ownerB, `?after=${ofA!.id}`)).status).toBe(400);
  });

  it('after a reconnect with Last-Event-ID sends exactly the missed entries in order, then live ones', async () => {
    const first = await follow(memberA, `?organization=${orgA}`);
    const before = await publish(...tasks(orgA, ownerA, 2, 'Before'));
    await first.waitForEvents(2);
    first.close();
    const missed = await publish(...tasks(orgA, ownerA, 5, 'Missed'));
    const again = await follow(memberA, `?organization=${orgA}`, { 'last-event-id': first.events[1]!.id! });
    await again.waitForEvents(5);
    const live = await publish(...tasks(orgA, ownerA, 2, 'Live'));
    await again.waitForEvents(7);
    expect(first.events.map((e) => e.id)).toEqual(before.map((e) => e.id));
    expect(again.events.map((e) => e.id)).toEqual([...missed, ...live].map((e) => e.id));
  });

  it('has no gap and no duplicate when entries commit while a replay runs', async () => {
    const [start] = await publish(events.taskCreated(orgA, 'Start', ownerA));
    const during = tasks(orgA, ownerA, 60, 'During').map((e) => envelopeOf(e));
    const publishing = publishEnvelopes(vhost.url, during);
    const stream = await follow(ownerA, `?organization=${orgA}&after=${start!.id}`);
    await publishing;
    await stream.waitForEvents(60, 10000);
    const after = await publish(events.taskCreated(orgA, 'After', ownerA));
    await stream.waitForEvents(61);
    expect(stream.events.map((e) => e.id)).toEqual([...during, ...after].map((e) => e.id));
  });

  it("never shows an invitee's email to a member, and shows it to the owner", async () => {
    const email = `invitee-${randomUUID()}@example.com`;
    const member = await follow(memberA, `?organization=${orgA}`);
    const owner = await follow(ownerA, `?organization=${orgA}`);
    await publish(events.inviteSent(orgA, email, ownerA));
    const [seenByMember] = await member.waitForEvents(1);
    const [seenByOwner] = await owner.waitForEvents(1);
    expect(seenByMember!.data).not.toContain(email);
    expect(JSON.parse(seenByMember!.data)).toMatchObject({ verb: 'invite.sent', action: 'Invited someone to organization' });
    expect(seenByOwner!.data).toContain(email);
  });

  it('ends the stream when the caller is removed from the organization, after telling them', async () => {
    const leaver = newUser('leaver');
    await publish(events.membershipAdded(orgA, leaver, 'member', 1, ownerA));
    const scoped = await follow(leaver, `?organization=${orgA}`);
    const all = await follow(leaver);
    const [removal] = await publish(events.membershipRemoved(orgA, leaver, 'member', 2, ownerA));
    await scoped.waitForEnd();
    await all.waitForEnd();
    expect(scoped.events.map((e) => e.id)).toEqual([removal!.id]);
    expect(all.events.map((e) => e.id)).toEqual([removal!.id]);
    expect((await follow(leaver, `?organization=${orgA}`)).status).toBe(404);
  });

  it('ends the stream when the access token expires', async () => {
    const stream = await follow(ownerA, '', {}, audit.url, tokens.sign(ownerA, { expiresIn: 1 }));
    expect(stream.status).toBe(200);
    await stream.waitForEnd(4000);
    expect(stream.comments).toContain('end token_expired');
  });

  it('sends heartbeat comments on an idle stream', async () => {
    const stream = await follow(ownerB);
    await eventually(() => stream.comments.filter((c) => c === 'heartbeat').length >= 2);
  });

  it('refuses a stream beyond STREAMS_PER_USER with 429, and allows one again after a close', async () => {
    const user = newUser('busy');
    await publish(events.membershipAdded(orgB, user, 'member', 1, ownerB));
    const streams = [await follow(user), await follow(user), await follow(user)];
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    const refused = await follow(user);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'too_many_streams' });
    expect(refused.headers['retry-after']).toBeDefined();
    streams[0]!.close();
    await eventually(async () => (await follow(user)).status === 200);
  });

  it('counts STREAMS_PER_USER across replicas and both stream kinds; a dead replica\'s expired leases do not count', async () => {
    const user = newUser('spread');
    await publish(events.membershipAdded(orgB, user, 'member', 1, ownerB));
    const second = await startAudit({
      databaseUrl: database.url,
      amqpUrl: vhost.url,
      tenancyUrl: tenancy.url,
      verifier: tokens.verifier,
      serviceToken,
      env: { STREAMS_PER_USER: '3', STREAM_HEARTBEAT_MS: '100' },
    });
    try {
      // A lease left by a replica that died: expired, so it does not count.
      await db('stream_leases').insert({ id: randomUUID(), user_id: user.id, holder: 'dead-replica', expires_at: new Date(Date.now() - 1000) });
      const notifications = await openEventStream(audit.url, '/api/v1/notifications/stream/', { token: tokens.sign(user) });
      open.push(notifications);
      const onFirst = [await follow(user), notifications];
      const onSecond = await follow(user, '', {}, second.url);
      expect([...onFirst, onSecond].map((s) => s.status)).toEqual([200, 200, 200]);
      const refusedThere = await follow(user, '', {}, second.url);
      const refusedHere = await follow(user);
      expect([refusedThere.status, refusedHere.status]).toEqual([429, 429]);
      expect(refusedThere.body).toMatchObject({ code: 'too_many_streams' });
      expect(Number((await db('stream_leases').where('user_id', user.id).count({ n: '*' }).first())!.n)).toBe(3);
      onFirst[0]!.close();
      await eventually(async () => (await follow(user, '', {}, second.url)).status === 200);
    } finally {
      for (const s of open.splice(0)) s.close();
      await second.close();
    }
    // A closed replica gives its leases back.
    await eventually(async () => Number((await db('stream_leases').where('user_id', user.id).whereNot('holder', 'dead-replica').count({ n: '*' }).first())!.n) === 0);
  });

  it('drops a client that does not read once its buffer limit is passed, instead of growing', async () => {
    await eventually(async () => (await openStreams()) === 0);
    const socket = net.connect(new URL(audit.url).port as unknown as number, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET ${STREAM} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${tokens.sign(ownerB)}\r\n\r\n`);
    socket.pause();
    await eventually(async () => (await openStreams()) === 1);
    const big = 'x'.repeat(30_000);
    const updates = Array.from({ length: 250 }, () =>
      envelopeOf({ type: 'work.task.updated', organization_id: orgB, actor: ownerB, data: { task: { id: randomUUID(), project_id: randomUUID(), title: 'Big' }, changes: { description: ['', big] } } }),
    );
    await publishEnvelopes(vhost.url, updates);
    await eventually(async () => (await openStreams()) === 0, 15000);
    socket.destroy();
  });

  it('streams entries that another audit replica recorded (LISTEN/NOTIFY across processes)', async () => {
    const second = await startAudit({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken });
    try {
      const stream = await follow(memberA, `?organization=${orgA}`, {}, second.url);
      // Recorded by a consumer outside the second process, with audit's own handler, as another replica does.
      const recorded = tasks(orgA, ownerA, 3, 'Elsewhere').map((e) => envelopeOf(e));
      const elsewhere = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 1 });
      try {
        for (const e of recorded) await inTransaction(elsewhere, (trx) => auditHandlers['work.task.created'](trx, e as EventEnvelope<'work.task.created'>));
      } finally {
        await elsewhere.destroy();
      }
      await stream.waitForEvents(3);
      // And through the broker, consumed by whichever replica takes each message.
      const consumed = await publish(...tasks(orgA, ownerA, 6, 'Either'));
      await stream.waitForEvents(9);
      // Two consumers commit in their own order; the stream follows commit order, each entry once.
      const ids = stream.events.map((e) => e.id);
      expect(ids.slice(0, 3)).toEqual(recorded.map((e) => e.id));
      expect([...ids.slice(3)].sort()).toEqual(consumed.map((e) => e.id).sort());
    } finally {
      for (const s of open.splice(0)) s.close();
      await second.close();
    }
  });
});
