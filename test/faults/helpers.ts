// Small helpers shared by the fault tests: accounts and data through the gateway, timed requests,
// the activity log, the RabbitMQ management API and a PostgreSQL admin connection.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { eventually, request, testInfra, type JsonResponse } from '@taskflow/shared/testing';

export interface Account {
  id: string;
  email: string;
  access: string;
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse<T>>;
}

let counter = 0;

/** Registers and logs in a fresh user through the gateway. */
export async function newAccount(gatewayUrl: string, name = 'user'): Promise<Account> {
  counter += 1;
  const email = `${name}.${counter}.${randomUUID().slice(0, 8)}@example.com`;
  const password = 'amber-lantern-9182';
  const registered = await request(gatewayUrl, 'POST', '/api/v1/auth/register/', { body: { email, password, first_name: name, last_name: 'Fault' } });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  const login = await request(gatewayUrl, 'POST', '/api/v1/auth/login/', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const access = login.body.access as string;
  return {
    id: registered.body.id,
    email,
    access,
    call: (method, path, body, headers) => request(gatewayUrl, method, path, { body, token: access, headers }),
  };
}

/**
 * Runs `setup` again (at most `times`) while it fails on a 5xx: registering hashes a password, which
 * can outlast the gateway's deadline on a starved machine. Each run registers a fresh account.
 */
export async function retryingSetup<T>(setup: () => Promise<T>, times = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await setup();
    } catch (err) {
      if (attempt >= times || !/: 5\d\d /.test((err as Error).message)) throw err;
    }
  }
}

/** An owner with an organization and a project in it. */
export async function orgWithProject(gatewayUrl: string, name: string): Promise<{ owner: Account; org: { id: string; name: string }; project: { id: string } }> {
  const owner = await newAccount(gatewayUrl, name);
  const org = await owner.call('POST', '/api/v1/organizations/', { name: `${name} org` });
  if (org.status !== 201) throw new Error(`create org: ${org.status} ${JSON.stringify(org.body)}`);
  // Work learns memberships from tenancy's events (or asks tenancy on a miss): retry briefly.
  const project = await eventually(async () => {
    const res = await owner.call('POST', '/api/v1/projects/', { organization: org.body.id, name: `${name} project` });
    if (res.status !== 201) throw new Error(`create project: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string };
  }, 10_000, 100);
  return { owner, org: org.body, project };
}

export interface Timed {
  status: number;
  /** 0 when no HTTP answer arrived (connection error or client timeout). */
  ms: number;
  startedAt: number;
  error?: string;
  headers?: Headers;
  body?: any;
}

/** One request with a client-side deadline; never throws. */
export async function timed(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Timed> {
  const { timeoutMs = 2000, ...rest } = init;
  const startedAt = Date.now();
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      /* keep the text */
    }
    return { status: res.status, ms: performance.now() - t0, startedAt, headers: res.headers, body };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, ms: performance.now() - t0, startedAt, error: `${e.name}: ${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
  }
}

/** Every activity entry of an organization, following `next`. */
export async function activityOf(account: Account, orgId: string): Promise<any[]> {
  const items: any[] = [];
  for (let next: string | null = `/api/v1/activity/?organization=${orgId}&limit=200`, pages = 0; next && pages < 100; pages += 1) {
    const page: JsonResponse = await account.call('GET', next);
    if (page.status !== 200) throw new Error(`activity: ${page.status} ${JSON.stringify(page.body)}`);
    items.push(...page.body.results);
    next = page.body.next;
  }
  return items;
}

/** Every task of a project, following `next`. */
export async function tasksOf(account: Account, projectId: string): Promise<any[]> {
  const items: any[] = [];
  for (let next: string | null = `/api/v1/tasks/?project=${projectId}&limit=200`, pages = 0; next && pages < 100; pages += 1) {
    const page: JsonResponse = await account.call('GET', next);
    if (page.status !== 200) throw new Error(`tasks: ${page.status} ${JSON.stringify(page.body)}`);
    items.push(...page.body.results);
    next = page.body.next;
  }
  return items;
}

/** How many activity entries there are per `<verb> <target id>`. */
export function countByTarget(entries: any[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const key = `${e.verb} ${e.target?.id}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

// ------------------------------------------------------------------ RabbitMQ management API

export function management() {
  const { amqpUrl, managementUrl } = testInfra();
  const amqp = new URL(amqpUrl);
  const user = decodeURIComponent(amqp.username || 'guest');
  const auth = `Basic ${Buffer.from(`${user}:${decodeURIComponent(amqp.password || 'guest')}`).toString('base64')}`;
  const api = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${managementUrl}/api${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
  return {
    user,
    async connectionsOf(vhost: string): Promise<Array<{ name: string }>> {
      const res = await api('GET', `/vhosts/${encodeURIComponent(vhost)}/connections`);
      if (!res.ok) throw new Error(`connections of ${vhost}: ${res.status}`);
      return (await res.json()) as Array<{ name: string }>;
    },
    async queuesOf(vhost: string): Promise<Array<{ name: string; consumers: number; messages: number; type?: string }>> {
      const res = await api('GET', `/queues/${encodeURIComponent(vhost)}`);
      if (!res.ok) throw new Error(`queues of ${vhost}: ${res.status}`);
      return (await res.json()) as Array<{ name: string; consumers: number; messages: number; type?: string }>;
    },
    async closeConnection(name: string): Promise<void> {
      const res = await api('DELETE', `/connections/${encodeURIComponent(name)}`);
      if (!res.ok && res.status !== 404) throw new Error(`close ${name}: ${res.status}`);
    },
    async revoke(vhost: string): Promise<void> {
      const res = await api('DELETE', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`);
      if (!res.ok && res.status !== 404) throw new Error(`revoke permissions on ${vhost}: ${res.status}`);
    },
    async grant(vhost: string): Promise<void> {
      const res = await api('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, { configure: '.*', write: '.*', read: '.*' });
      if (!res.ok) throw new Error(`grant permissions on ${vhost}: ${res.status}`);
    },
  };
}

// ------------------------------------------------------------------ PostgreSQL admin

/** An admin connection to the `postgres` database of the test server. */
export async function pgAdmin(): Promise<Client> {
  const url = new URL(testInfra().databaseUrl);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

/** Runs `fn` concurrently `loops` times until `untilMs` has passed or `maxIterations` iterations per loop. */
export async function boundedLoad(loops: number, durationMs: number, maxIterations: number, fn: (loop: number, i: number) => Promise<void>): Promise<void> {
  const deadline = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let i = 0; i < maxIterations && Date.now() < deadline; i += 1) await fn(loop, i);
    }),
  );
}
