// A real work service for one test file: its own database and vhost, test tokens, a real HTTP
// stand-in for tenancy's internal endpoint, memberships delivered as real tenancy events, and a
// queue that records every work.* event published.
import { randomUUID } from 'node:crypto';
import amqplib, { type ChannelModel } from 'amqplib';
import Koa from 'koa';
import {
  createDb,
  type EventEnvelope,
  type EventPayloads,
  type EventType,
  type Knex,
  type Role,
  type RunningServer,
} from '@taskflow/shared';
import {
  createTestDatabase,
  createTestTokens,
  createTestVhost,
  eventually,
  openEventTap,
  request,
  startTestServer,
  type JsonResponse,
  type TestDatabase,
  type TestVhost,
} from '@taskflow/shared/testing';
import { startWork } from './start';

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

export interface Harness {
  url: string;
  /** Reads the work schema directly, to assert what was (not) stored. */
  db: Knex;
  /** Every work.* event published so far, in arrival order. */
  events: EventEnvelope[];
  tenancyCalls: string[];
  user(name?: string): TestUser;
  /** A membership as tenancy announces it: a real `tenancy.membership.*` event, applied once the replica shows it. */
  join(org: string, user: TestUser, role: Role): Promise<void>;
  changeRole(org: string, user: TestUser, role: Role): Promise<void>;
  remove(org: string, user: TestUser): Promise<void>;
  /** A membership known only to tenancy's internal endpoint (the replica misses it). */
  joinOnlyInTenancy(org: string, user: TestUser, role: Role): void;
  /** Publishes a tenancy event; pass `id` to publish the same message again (a redelivery). */
  publish<T extends EventType>(type: T, organizationId: string | null, data: EventPayloads[T], actor?: TestUser, id?: string): Promise<string>;
  /** While false, tenancy's internal endpoint answers 500 (as when it is down). */
  tenancyAnswers: boolean;
  call<T = any>(method: string, path: string, user: TestUser | null, options?: { body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<JsonResponse<T>>;
  /** An organization with an owner, an admin and two members, all delivered as events. */
  organization(): Promise<{ id: string; owner: TestUser; admin: TestUser; member: TestUser; otherMember: TestUser }>;
  eventsOf<T extends EventType>(type: T, predicate?: (e: EventEnvelope<T>) => boolean): EventEnvelope<T>[];
  close(): Promise<void>;
}

export async function startHarness(options: { env?: Record<string, string> } = {}): Promise<Harness> {
  const database: TestDatabase = await createTestDatabase('tf_work');
  const vhost: TestVhost = await createTestVhost('tf_work');
  const tokens = createTestTokens();
  const tenancyMembers = new Map<string, { role: Role; version: number }>();
  const tenancyCalls: string[] = [];
  const versions = new Map<string, number>();
  const serviceToken = 'work-test-service-token';

  const tenancyApp = new Koa();
  tenancyApp.use(async (ctx) => {
    tenancyCalls.push(ctx.path);
    if (!harness.tenancyAnswers) {
      ctx.status = 500;
      return;
    }
    if (ctx.get('authorization') !== `Bearer ${serviceToken}`) {
      ctx.status = 401;
      return;
    }
    const match = /^\/internal\/v1\/organizations\/([^/]+)\/members\/([^/]+)$/.exec(ctx.path);
    const m = match ? tenancyMembers.get(`${match[1]}/${match[2]}`) : undefined;
    if (!match || !m) {
      ctx.status = 404;
      return;
    }
    ctx.body = { organization_id: match[1], user_id: match[2], role: m.role, version: m.version };
  });
  const tenancy: RunningServer = await startTestServer(tenancyApp);
  const work = await startWork({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken, env: options.env });
  // The test's own access (bulk seeding, EXPLAIN ANALYZE) is not held to the service's statement timeout.
  const db = createDb({ url: database.url, schema: 'work', poolMax: 4, statementTimeoutMs: 0 });

  const connection: ChannelModel = await amqplib.connect(vhost.url);
  const channel = await connection.createChannel();
  const { events, publish } = await openEventTap(channel, 'work.#');

  const membership = async (type: 'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed', org: string, user: TestUser, role: Role) => {
    const key = `${org}/${user.id}`;
    const version = (versions.get(key) ?? 0) + 1;
    versions.set(key, version);
    const summary = { id: user.id, email: user.email, first_name: 'Test', last_name: 'User' };
    const base = { organization_id: org, user: summary, role, version };
    const data =
      type === 'tenancy.membership.role_changed'
        ? { ...base, changes: { role: [role, role] as [Role, Role] } }
        : type === 'tenancy.membership.removed'
          ? { ...base, reason: 'removed' as const }
          : base;
    if (type === 'tenancy.membership.removed') tenancyMembers.delete(key);
    else tenancyMembers.set(key, { role, version });
    await publish(type, org, data as EventPayloads[typeof type]);
    await eventually(async () => {
      const row = await db('membership_replica').where({ organization_id: org, user_id: user.id }).first();
      return row && Number(row.version) >= version;
    }, 10_000);
  };

  let counter = 0;
  const user = (name = 'user'): TestUser => {
    counter += 1;
    return tokens.user(`${name}${counter}@example.com`);
  };

  const harness: Harness = {
    url: work.url,
    db,
    events,
    tenancyCalls,
    tenancyAnswers: true,
    user,
    join: (org, u, role) => membership('tenancy.membership.added', org, u, role),
    changeRole: (org, u, role) => membership('tenancy.membership.role_changed', org, u, role),
    remove: (org, u) => membership('tenancy.membership.removed', org, u, 'member'),
    joinOnlyInTenancy(org, u, role) {
      tenancyMembers.set(`${org}/${u.id}`, { role, version: 1 });
    },
    publish,
    call: (method, path, u, options = {}) => request(work.url, method, path, { ...options, token: u?.token }),
    async organization() {
      const id = randomUUID();
      const [owner, admin, member, otherMember] = [user('owner'), user('admin'), user('member'), user('member')];
      await Promise.all([harness.join(id, owner, 'owner'), harness.join(id, admin, 'admin'), harness.join(id, member, 'member'), harness.join(id, otherMember, 'member')]);
      return { id, owner, admin, member, otherMember };
    },
    eventsOf<T extends EventType>(type: T, predicate: (e: EventEnvelope<T>) => boolean = () => true) {
      return events.filter((e): e is EventEnvelope<T> => e.type === type && predicate(e as EventEnvelope<T>));
    },
    async close() {
      await connection.close().catch(() => undefined);
      await work.close();
      await tenancy.close();
      await db.destroy();
      await database.drop();
      await vhost.drop();
    },
  };
  return harness;
}

/** Creates a project and a task through the API (as an admin of the organization). */
export async function seedProject(h: Harness, admin: TestUser, organization: string, name = 'Project'): Promise<any> {
  const res = await h.call('POST', '/api/v1/projects/', admin, { body: { organization, name } });
  if (res.status !== 201) throw new Error(`seed project: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function seedTask(h: Harness, admin: TestUser, project: string, fields: Record<string, unknown> = {}): Promise<any> {
  const res = await h.call('POST', '/api/v1/tasks/', admin, { body: { project, title: 'Task', ...fields } });
  if (res.status !== 201) throw new Error(`seed task: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Row counts of the work tables, to assert that a refused request changed nothing. */
export async function snapshot(h: Harness): Promise<Record<string, unknown>> {
  const [projects, tasks, outbox] = await Promise.all([
    h.db('projects').select('*').orderBy('id'),
    h.db('tasks').select('*').orderBy('id'),
    h.db('outbox').count({ n: '*' }).first(),
  ]);
  return { projects, tasks, outbox: outbox?.n };
}
