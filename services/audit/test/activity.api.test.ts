import { randomUUID } from 'node:crypto';
import { createDb, encodeCursor, type EventEnvelope, type Knex, type Role } from '@taskflow/shared';
import { createTestDatabase, createTestTokens, createTestVhost, eventually, request, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { ACTIVITY_COLUMNS, AUDIT_SCHEMA } from '../src/db/migrations';
import type { ActivityRecord } from '../src/domain/activity';
import { presentActivity } from '../src/http/activity.routes';
import { startAudit } from './start';
import { envelopeOf, events, newUser, publishEnvelopes, startTenancyStandIn, type TestUser } from './support';

const serviceToken = 'audit-api-test-service-token';
const T0 = Date.parse('2026-01-05T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

interface Entry {
  id: string;
  organization: string;
  actor: string | null;
  actor_email: string | null;
  verb: string;
  action: string;
  target: { type: string; id: string };
  changes: Record<string, [unknown, unknown]>;
  created_at: string;
  request_id: string | null;
}

const newestFirst = (a: EventEnvelope, b: EventEnvelope) =>
  a.occurred_at === b.occurred_at ? (a.id < b.id ? 1 : -1) : a.occurred_at < b.occurred_at ? 1 : -1;
const idsOf = (list: Array<{ id: string }>) => list.map((e) => e.id);

describe('GET /api/v1/activity/', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let tenancy: Awaited<ReturnType<typeof startTenancyStandIn>>;
  let audit: { url: string; close(): Promise<void> };
  let db: Knex;
  const tokens = createTestTokens();

  const [orgA, orgB, orgC] = [randomUUID(), randomUUID(), randomUUID()];
  const ownerA = newUser('owner-a');
  const adminA = newUser('admin-a');
  /** A member of A and an admin of C. */
  const memberA = newUser('member-a');
  const ownerB = newUser('owner-b');
  const outsider = newUser('outsider');
  const inviteeA = 'invitee-a@example.com';
  const inviteeC = 'invitee-c@example.com';
  const taskA = randomUUID();
  const published: EventEnvelope[] = [];
  const ofOrg = (org: string) => published.filter((e) => e.organization_id === org).sort(newestFirst);

  const get = (user: TestUser | null, query = '', path = '/api/v1/activity/') =>
    request<{ results: Entry[]; next: string | null }>(audit.url, 'GET', `${path}${query}`, user ? { token: tokens.sign(user) } : {});

  /** Follows `next` from `query` to the end; returns every page. */
  async function walk(user: TestUser, query: string): Promise<Array<{ results: Entry[]; next: string | null; link: string | null }>> {
    const pages = [];
    let res = await get(user, query);
    for (;;) {
      expect(res.status).toBe(200);
      pages.push({ ...res.body, link: res.headers.get('link') });
      if (!res.body.next) return pages;
      res = await request(audit.url, 'GET', res.body.next, { token: tokens.sign(user) });
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    tenancy = await startTenancyStandIn(serviceToken);
    audit = await startAudit({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken });
    db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 2 });

    let minute = 0;
    const add = (...list: EventEnvelope[]) => published.push(...list);
    const next = () => ({ occurredAt: at((minute += 1)) });
    add(
      envelopeOf(events.membershipAdded(orgA, ownerA, 'owner', 1), next()),
      envelopeOf(events.membershipAdded(orgA, adminA, 'admin', 1, ownerA), next()),
      envelopeOf(events.membershipAdded(orgA, memberA, 'member', 1, ownerA), next()),
      envelopeOf(events.membershipAdded(orgB, ownerB, 'owner', 1), next()),
      envelopeOf(events.membershipAdded(orgC, memberA, 'admin', 1), next()),
      envelopeOf(events.inviteSent(orgA, inviteeA, adminA), next()),
      envelopeOf(events.inviteSent(orgC, inviteeC, memberA), next()),
      envelopeOf({ type: 'work.project.created', organization_id: orgA, actor: ownerA, data: { project: { id: randomUUID(), name: 'Roadmap' } } }, next()),
      envelopeOf(events.taskCreated(orgA, 'Write spec', adminA, taskA), next()),
    );
    for (let i = 0; i < 8; i += 1) {
      const actor = i % 2 === 0 ? ownerA : adminA;
      add(envelopeOf(events.taskCreated(orgA, `Task ${i}`, actor), next()));
      add(envelopeOf(events.taskCreated(orgB, `B task ${i}`, ownerB), next()));
    }
    add(
      envelopeOf(
        { type: 'work.task.updated', organization_id: orgA, actor: memberA, data: { task: { id: taskA, project_id: randomUUID(), title: 'Write spec' }, changes: { status: ['todo', 'done'] } } },
        next(),
      ),
    );
    // Three entries at the same instant: their order (and pages) are decided by id.
    const sameInstant = next();
    for (let i = 0; i < 3; i += 1) add(envelopeOf(events.taskCreated(orgA, `Tie ${i}`, ownerA), sameInstant));
    add(envelopeOf(events.taskCreated(orgC, 'C task', memberA), next()));

    await publishEnvelopes(vhost.url, published);
    await eventually(async () => Number((await db('activity').count({ n: '*' }).first())!.n) === published.length, 10000);
  });

  afterAll(async () => {
    await audit?.close();
    await db?.destroy();
    await tenancy?.close();
    await database?.drop();
    await vhost?.drop();
  });

  describe('authentication and scoping', () => {
    it('answers 401 without a token and with an invalid one', async () => {
      const none = await get(null);
      expect(none.status).toBe(401);
      expect(none.headers.get('content-type')).toContain('application/problem+json');
      const forged = await request(audit.url, 'GET', '/api/v1/activity/', { token: createTestTokens().sign(ownerA) });
      expect(forged.status).toBe(401);
    });

    it("returns only the caller's organizations' entries, newest first", async () => {
      const res = await get(ownerB, '?limit=200');
      expect(res.status).toBe(200);
      expect(idsOf(res.body.results)).toEqual(idsOf(ofOrg(orgB)));
      expect(res.body.next).toBeNull();
    });

    it('answers 404 for an organization the caller does not belong to, and for an unknown one', async () => {
      for (const org of [orgA, randomUUID()]) {
        const res = await get(ownerB, `?organization=${org}`);
        expect(res.status).toBe(404);
        expect(res.body).toMatchObject({ code: 'not_found' });
        expect(JSON.stringify(res.body)).not.toContain(orgA);
      }
    });

    it('shows nothing to someone in no organization', async () => {
      expect((await get(outsider)).body).toEqual({ results: [], next: null });
      expect((await get(outsider, `?organization=${orgA}`)).status).toBe(404);
    });

    it('merges the organizations of a member of several, each with what their role there allows', async () => {
      const res = await get(memberA, '?limit=200');
      const expected = [...ofOrg(orgA), ...ofOrg(orgC)].sort(newestFirst);
      expect(idsOf(res.body.results)).toEqual(idsOf(expected));
      const invites = res.body.results.filter((e) => e.verb === 'invite.sent');
      expect(invites.find((e) => e.organization === orgA)).toMatchObject({ action: 'Invited someone to organization', changes: { role: [null, 'member'] } });
      expect(invites.find((e) => e.organization === orgC)).toMatchObject({ action: `Invited ${inviteeC} to organization`, changes: { email: [null, inviteeC] } });
      expect(JSON.stringify(res.body)).not.toContain(inviteeA);
    });
  });

  describe('invitee emails', () => {
    it.each([
      ['owner', ownerA],
      ['admin', adminA],
    ] as Array<[Role, TestUser]>)('are shown to an %s', async (_role, user) => {
      const res = await get(user, `?organization=${orgA}&verb=invite.sent`);
      expect(res.body.results).toEqual([
        expect.objectContaining({ action: `Invited ${inviteeA} to organization`, changes: { email: [null, inviteeA], role: [null, 'member'] }, actor: adminA.id }),
      ]);
    });

    it('are hidden from a member, who still sees that an invite was sent', async () => {
      const res = await get(memberA, `?organization=${orgA}&verb=invite.sent`);
      expect(res.body.results).toEqual([expect.objectContaining({ action: 'Invited someone to organization', changes: { role: [null, 'member'] } })]);
      expect(JSON.stringify(res.body)).not.toContain(inviteeA);
    });
  });

  describe('pages written by PostgreSQL', () => {
    /** What JSON.stringify makes of the stored rows as `presentActivity` shows them to `role`. */
    const expected = async (orgRoles: Record<string, Role>, limit: number) => {
      const rows = (await db('activity')
        .select(ACTIVITY_COLUMNS)
        .whereIn('organization_id', Object.keys(orgRoles))
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])) as ActivityRecord[];
      return rows.slice(0, limit + 1).map((row) => presentActivity({ ...row, reader_role: orgRoles[row.organization_id]! }));
    };
    const raw = async (user: TestUser, query: string) => {
      const res = await fetch(`${audit.url}/api/v1/activity${query}`, { headers: { authorization: `Bearer ${tokens.sign(user)}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      return res.text();
    };

    it.each([
      ['an owner', ownerA, { [orgA]: 'owner' }],
      ['a member', memberA, { [orgA]: 'member' }],
    ] as Array<[string, TestUser, Record<string, Role>]>)('are byte for byte what JSON.stringify makes of the entries an %s may see', async (_label, user, roles) => {
      const all = await expected(roles, 200);
      expect(await raw(user, `?organization=${orgA}&limit=200`)).toBe(JSON.stringify({ results: all, next: null }));
    });

    it('are so across organizations with a role each, next link included', async () => {
      const entries = await expected({ [orgA]: 'member', [orgC]: 'admin' }, 3);
      const next = `/api/v1/activity?limit=3&cursor=${encodeCursor([entries[2]!.created_at, entries[2]!.id])}`;
      expect(await raw(memberA, '?limit=3')).toBe(JSON.stringify({ results: entries.slice(0, 3), next }));
    });
  });

  describe('filters', () => {
    const check = async (query: string, expected: EventEnvelope[]) => {
      const res = await get(ownerA, `?organization=${orgA}&limit=200&${query}`);
      expect(res.status).toBe(200);
      expect(idsOf(res.body.results)).toEqual(idsOf(expected));
      // The same filter without `organization` goes through the other query; ownerA is only in A.
      const unscoped = await get(ownerA, `?limit=200&${query}`);
      expect(idsOf(unscoped.body.results)).toEqual(idsOf(expected));
    };
    const a = () => ofOrg(orgA);

    it('by actor', () => check(`actor=${adminA.id}`, a().filter((e) => e.actor_id === adminA.id)));
    it('by verb', () => check('verb=task.created', a().filter((e) => e.type === 'work.task.created')));
    it('by target type', () => check('target_type=member', a().filter((e) => e.type.startsWith('tenancy.membership.'))));
    it('by target id', () => check(`target_id=${taskA}`, a().filter((e) => (e.data as { task?: { id: string } }).task?.id === taskA)));
    it('by target type and id', async () => {
      await check(`target_type=task&target_id=${taskA}`, a().filter((e) => (e.data as { task?: { id: string } }).task?.id === taskA));
      await check(`target_type=project&target_id=${taskA}`, []);
    });
    it('since (inclusive) and until (exclusive)', async () => {
      const since = at(10).toISOString();
      const until = '2026-01-05T11:20:00+01:00'; // at(20), with an offset
      await check(`since=${since}`, a().filter((e) => e.occurred_at >= since));
      await check(`until=${encodeURIComponent(until)}`, a().filter((e) => e.occurred_at < at(20).toISOString()));
      await check(`since=${since}&until=${encodeURIComponent(until)}`, a().filter((e) => e.occurred_at >= since && e.occurred_at < at(20).toISOString()));
    });
    it('combined', () =>
      check(`actor=${ownerA.id}&verb=task.created&since=${at(12).toISOString()}`, a().filter((e) => e.actor_id === ownerA.id && e.type === 'work.task.created' && e.occurred_at >= at(12).toISOString())));
    it('that match nothing give an empty page', () => check(`actor=${randomUUID()}`, []));
  });

  describe('pagination', () => {
    it("walks one organization's entries exactly once, newest first, with `next` and `Link`", async () => {
      const pages = await walk(ownerA, `?organization=${orgA}&limit=4`);
      const expected = ofOrg(orgA);
      expect(pages).toHaveLength(Math.ceil(expected.length / 4));
      expect(idsOf(pages.flatMap((p) => p.results))).toEqual(idsOf(expected));
      for (const page of pages.slice(0, -1)) {
        expect(page.results).toHaveLength(4);
        expect(page.next).toMatch(/^\/api\/v1\/activity\?/);
        expect(page.next).toContain(`organization=${orgA}`);
        expect(page.link).toBe(`<${page.next}>; rel="next"`);
      }
      expect(pages[pages.length - 1]!.next).toBeNull();
      expect(pages[pages.length - 1]!.link).toBeNull();
    });

    it('walks several organizations and entries at the same instant without gaps or repeats', async () => {
      for (const limit of [1, 2, 3, 7]) {
        const pages = await walk(memberA, `?limit=${limit}`);
        expect(idsOf(pages.flatMap((p) => p.results))).toEqual(idsOf([...ofOrg(orgA), ...ofOrg(orgC)].sort(newestFirst)));
      }
    });

    it('keeps the filters on every page', async () => {
      const pages = await walk(ownerA, '?verb=task.created&limit=3');
      expect(idsOf(pages.flatMap((p) => p.results))).toEqual(idsOf(ofOrg(orgA).filter((e) => e.type === 'work.task.created')));
    });
  });

  describe('invalid input', () => {
    it('treats a malformed id in a filter as not found: 404 for the organization, nothing for the others', async () => {
      const token = tokens.sign(ownerA);
      expect((await request(audit.url, 'GET', '/api/v1/activity/?organization=nope', { token })).status).toBe(404);
      for (const query of ['actor=123', 'target_id=not-a-uuid']) {
        const res = await request(audit.url, 'GET', `/api/v1/activity/?${query}`, { token });
        expect([query, res.status, res.body.results]).toEqual([query, 200, []]);
      }
    });

    it.each([
      ['since=yesterday', 'since'],
      ['until=2026-01-05', 'until'],
      ['since=2026-01-05T10:00:00', 'since'],
      ['limit=0', 'limit'],
      ['limit=ten', 'limit'],
      [`organization=${orgA}&organization=${orgB}`, 'organization'],
    ])('answers 400 for %s', async (query, field) => {
      const res = await request<{ code: string; errors: Record<string, string[]> }>(audit.url, 'GET', `/api/v1/activity/?${query}`, { token: tokens.sign(ownerA) });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: 400, code: 'validation_error' });
      expect(Object.keys(res.body.errors)).toEqual([field]);
    });

    it.each([
      ['not base64 JSON', '%%%'],
      ['the wrong shape', encodeCursor(['x'])],
      ['a bad timestamp', encodeCursor(['yesterday', randomUUID()])],
      ['a bad id', encodeCursor([new Date().toISOString(), 'nope'])],
    ])('answers 400 for a cursor with %s', async (_what, cursor) => {
      const res = await get(ownerA, `?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'invalid_cursor', errors: { cursor: ['Invalid cursor.'] } });
    });
  });

  it('answers with and without the trailing slash', async () => {
    const res = await get(ownerB, '?limit=1', '/api/v1/activity');
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
  });

  it('describes the route in the OpenAPI document', async () => {
    const doc = (await request(audit.url, 'GET', '/openapi.json')).body;
    const op = doc.paths['/api/v1/activity/'].get;
    expect(op.tags).toEqual(['activity']);
    const parameter = (p: { name?: string; $ref?: string }) => (p.$ref ? doc.components.parameters[p.$ref.replace('#/components/parameters/', '')] : p);
    expect(op.parameters.map((p: { name?: string; $ref?: string }) => parameter(p).name).sort()).toEqual(
      ['actor', 'cursor', 'limit', 'organization', 'since', 'target_id', 'target_type', 'until', 'verb'],
    );
    expect(op.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ActivityPage' });
    expect(doc.components.schemas.ActivityPage.properties.results.items).toEqual({ $ref: '#/components/schemas/ActivityEntry' });
    const entry = doc.components.schemas.ActivityEntry;
    expect(Object.keys(entry.properties).sort()).toEqual(
      ['action', 'actor', 'actor_email', 'changes', 'created_at', 'id', 'organization', 'request_id', 'target', 'verb'],
    );
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '404', '503']);
  });
});
