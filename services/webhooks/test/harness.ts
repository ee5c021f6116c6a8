// A real webhooks service for one test file: its own database and vhost, test tokens, a real HTTP stand-in
// for tenancy's internal endpoint, memberships and other events published as real events, real HTTP
// receivers on 127.0.0.1, and a queue that records every webhooks.* event published.
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqplib, { type ChannelModel } from 'amqplib';
import Koa from 'koa';
import { createDb, type EventEnvelope, type EventPayloads, type EventType, type Knex, type Role, type RunningServer, type RunningService } from '@taskflow/shared';
import { createTestDatabase, createTestTokens, createTestVhost, eventually, openEventTap, request, startTestServer, type JsonResponse } from '@taskflow/shared/testing';
import { startWebhooks, type StartWebhooksOptions } from './start';

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What a receiver answers to the nth request it gets (0-based): a status, after an optional delay, with optional headers and body. */
export type Answer = (n: number, req: http.IncomingMessage) => { status: number; delayMs?: number; headers?: Record<string, string>; body?: string };

export interface Receiver {
  url: string;
  received: Received[];
  /** Bodies received, parsed. */
  bodies(): any[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request and answers as `answer` says. */
export async function startReceiver(answer: Answer = () => ({ status: 204 })): Promise<Receiver> {
  const received: Received[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = received.length;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const a = answer(n, req);
      const reply = () => {
        res.writeHead(a.status, a.headers);
        res.end(a.body ?? '');
      };
      if (a.delayMs) {
        const t = setTimeout(reply, a.delayMs);
        timers.add(t);
      } else reply();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    bodies: () => received.map((r) => JSON.parse(r.body)),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Harness {
  url: string;
  db: Knex;
  databaseUrl: string;
  amqpUrl: string;
  events: EventEnvelope[];
  user(name?: string): TestUser;
  join(org: string, user: TestUser, role: Role): Promise<void>;
  publish<T extends EventType>(type: T, organizationId: string | null, data: EventPayloads[T], actor?: TestUser, id?: string): Promise<string>;
  call<T = any>(method: string, path: string, user: TestUser | null, options?: { body?: unknown; headers?: Record<string, string> }): Promise<JsonResponse<T>>;
  organization(): Promise<{ id: string; owner: TestUser; admin: TestUser; member: TestUser }>;
  /** Creates an endpoint through the API as `user` (default: the owner). */
  createEndpoint(org: { id: string; owner: TestUser }, url: string, events?: string[], user?: TestUser): Promise<any>;
  eventsOf<T extends EventType>(type: T): EventEnvelope<T>[];
  /** Stops the service (as a crash would: nothing drained beyond what close does) and starts a new one on the same data. */
  restart(): Promise<void>;
  stopService(): Promise<void>;
  startService(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<Pick<StartWebhooksOptions, 'env' | 'resolve' | 'mailOutboxDir' | 'leaseMarginMs'>> = {}): Promise<Harness> {
  const database = await createTestDatabase('tf_webhooks');
  const vhost = await createTestVhost('tf_webhooks');
  const tokens = createTestTokens();
  const tenancyMembers = new Map<string, { role: Role; version: number }>();
  const versions = new Map<string, number>();
  const serviceToken = 'webhooks-test-service-token';

  const tenancyApp = new Koa();
  tenancyApp.use(async (ctx) => {
    const match = /^\/internal\/v1\/organizations\/([^/]+)\/members\/([^/]+)$/.exec(ctx.path);
    const m = match && ctx.get('authorization') === `Bearer ${serviceToken}` ? tenancyMembers.get(`${match[1]}/${match[2]}`) : undefined;
    if (!match || !m) {
      ctx.status = 404;
      return;
    }
    ctx.body = { organization_id: match[1], user_id: match[2], role: m.role, version: m.version };
  });
  const tenancy: RunningServer = await startTestServer(tenancyApp);
  const start = () => startWebhooks({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken, ...options });
  let service: RunningService | undefined = await start();
  const db = createDb({ url: database.url, schema: 'webhooks', poolMax: 4, statementTimeoutMs: 0 });

  const connection: ChannelModel = await amqplib.connect(vhost.url);
  const channel = await connection.createChannel();
  const { events, publish } = await openEventTap(channel, 'webhooks.#');

  let counter = 0;
  const user = (name = 'user'): TestUser => {
    counter += 1;
    return tokens.user(`${name}${counter}@example.com`);
  };

  const harness: Harness = {
    get url() {
      if (!service) throw new Error('the service is stopped');
      return service.url;
    },
    db,
    databaseUrl: database.url,
    amqpUrl: vhost.url,
    events,
    user,
    async join(org, u, role) {
      const key = `${org}/${u.id}`;
      const version = (versions.get(key) ?? 0) + 1;
      versions.set(key, version);
      tenancyMembers.set(key, { role, version });
      await publish('tenancy.membership.added', org, { organization_id: org, user: { id: u.id, email: u.email, first_name: 'Test', last_name: 'User' }, role, version });
      await eventually(async () => {
        const row = await db('membership_replica').where({ organization_id: org, user_id: u.id }).first();
        return row && Number(row.version) >= version;
      }, 10_000);
    },
    publish,
    call: (method, path, u, opts = {}) => request(harness.url, method, path, { ...opts, token: u?.token }),
    async organization() {
      const id = randomUUID();
      const [owner, admin, member] = [user('owner'), user('admin'), user('member')];
      await Promise.all([harness.join(id, owner, 'owner'), harness.join(id, admin, 'admin'), harness.join(id, member, 'member')]);
      return { id, owner, admin, member };
    },
    async createEndpoint(org, url, eventList = ['*'], as = org.owner) {
      const res = await harness.call('POST', '/api/v1/webhooks/', as, { body: { organization: org.id, url, events: eventList } });
      if (res.status !== 201) throw new Error(`create endpoint: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    eventsOf: <T extends EventType>(type: T) => events.filter((e): e is EventEnvelope<T> => e.type === type),
    async stopService() {
      await service?.close();
      service = undefined;
    },
    async startService() {
      service = await start();
    },
    async restart() {
      await harness.stopService();
      await harness.startService();
    },
    async close() {
      await connection.close().catch(() => undefined);
      await service?.close();
      await tenancy.close();
      await db.destroy();
      await database.drop();
      await vhost.drop();
    },
  };
  return harness;
}
