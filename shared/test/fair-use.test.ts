// The fair-use middleware in a real Koa app over HTTP: handlers held open by the test, so which request is
// running, waiting or refused is decided by conditions, never by timing.
import http from 'node:http';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { ApiRoutes, createApp, createLogger, FairUse, type FairUseOptions, organizationOrUser, type RunningServer } from '@taskflow/shared';
import { eventually, request, startTestServer } from '@taskflow/shared/testing';

const ORG = '11111111-1111-4111-8111-111111111111';
const MEMBER = 'member';

/** A handler per request label that finishes only when the test says so. */
class Gates {
  readonly started: string[] = [];
  private readonly open = new Map<string, () => void>();
  hold(label: string): Promise<void> {
    this.started.push(label);
    return new Promise((resolve) => this.open.set(label, resolve));
  }
  finish(label: string): void {
    this.open.get(label)!();
  }
  finishAll(): void {
    for (const resolve of this.open.values()) resolve();
  }
}

async function startApp(limits: Omit<FairUseOptions, 'tenantOf'>) {
  const gates = new Gates();
  const fairUse = new FairUse({ ...limits, tenantOf: organizationOrUser(async (user, org) => user === MEMBER && org === ORG) });
  // The caller named in a header stands in for a verified token here.
  const authenticate: Middleware = async (ctx, next) => {
    ctx.state.user = { id: ctx.get('x-user'), email: `${ctx.get('x-user')}@example.com` };
    await next();
  };
  const routes = new ApiRoutes({ authenticate, admission: fairUse.middleware });
  routes.add(
    {
      method: 'get',
      path: '/work',
      summary: 'Held open until the test finishes it',
      tags: ['test'],
      query: z.object({ label: z.string(), organization: z.string().optional() }),
      responses: { 200: { description: 'done' } },
    },
    async (ctx, { query }) => {
      await gates.hold(query.label);
      ctx.body = { label: query.label };
    },
  );
  const app = createApp({ service: 'faired', logger: createLogger('faired', 'silent'), routes: [routes] });
  app.metrics.include(fairUse.metrics.registry);
  const server = await startTestServer(app);
  const call = (user: string, label: string, organization?: string) =>
    request(server.url, 'GET', `/work?label=${label}${organization ? `&organization=${organization}` : ''}`, { headers: { 'x-user': user } });
  return { server, gates, fairUse, call };
}

describe('fair-use middleware', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("admits another tenant while one is at its cap, queues that tenant's excess, and refuses beyond the bound with 429 + Retry-After", async () => {
    const { server, gates, fairUse, call } = await startApp({ perTenant: 2, total: 10, queuePerTenant: 1, queueTimeoutMs: 60_000 });
    running = server;
    const a1 = call('a', 'a1');
    const a2 = call('a', 'a2');
    await eventually(() => gates.started.length === 2);
    const a3 = call('a', 'a3');
    await eventually(() => fairUse.queue.waiting === 1);

    const refused = await call('a', 'a4');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 429, code: 'too_many_concurrent_requests', title: 'Too Many Requests' });

    const b1 = call('b', 'b1');
    await eventually(() => gates.started.includes('b1'));
    gates.finish('b1');
    expect((await b1).status).toBe(200);
    expect(gates.started).not.toContain('a3'); // b ran and finished while a's third request still waited

    gates.finish('a1');
    await eventually(() => gates.started.includes('a3'));
    gates.finishAll();
    expect((await Promise.all([a1, a2, a3])).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(gates.started).not.toContain('a4');

    const metrics = (await request(server.url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/fair_use_rejected_total\{reason="queue_full",service="faired"\} 1/);
    expect(metrics).toMatch(/fair_use_queued_total\{service="faired"\} 1/);
    expect(metrics).toMatch(/fair_use_waiting\{service="faired"\} 0/);
  });

  it('bounds the wait: 429 when the tenant is at its own cap, 503 when other tenants fill the process', async () => {
    const { server, gates, fairUse, call } = await startApp({ perTenant: 1, total: 2, queuePerTenant: 5, queueTimeoutMs: 50 });
    running = server;
    const a1 = call('a', 'a1');
    await eventually(() => gates.started.length === 1);
    const own = await call('a', 'a2');
    expect(own.status).toBe(429);
    expect(own.headers.get('retry-after')).toBe('1');

    const b1 = call('b', 'b1');
    await eventually(() => gates.started.length === 2);
    const full = await call('c', 'c1');
    expect(full.status).toBe(503);
    expect(full.body).toMatchObject({ status: 503, code: 'service_busy' });
    expect(full.headers.get('retry-after')).toBe('1');
    expect(gates.started).toEqual(['a1', 'b1']);
    expect(fairUse.queue).toMatchObject({ running: 2, waiting: 0 });
    gates.finishAll();
    await Promise.all([a1, b1]);
    const metrics = (await request(server.url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/fair_use_rejected_total\{reason="timeout",service="faired"\} 2/);
  });

  it("counts a member's request against the organization it names, and a stranger's against the stranger", async () => {
    const { server, gates, fairUse, call } = await startApp({ perTenant: 1, total: 10, queuePerTenant: 0, queueTimeoutMs: 60_000 });
    running = server;
    const member = call(MEMBER, 'm1', ORG);
    await eventually(() => gates.started.length === 1);
    expect(fairUse.queue.load(`organization:${ORG}`)).toEqual({ running: 1, waiting: 0 });
    // The organization is at its cap; a stranger naming it is not held to (or refused by) that cap.
    const stranger = call('stranger', 's1', ORG);
    await eventually(() => gates.started.length === 2);
    expect(fairUse.queue.load('user:stranger')).toEqual({ running: 1, waiting: 0 });
    expect((await call(MEMBER, 'm2', ORG)).status).toBe(429);
    gates.finishAll();
    expect((await Promise.all([member, stranger])).map((r) => r.status)).toEqual([200, 200]);
  });

  it('drops a waiting request whose client went away: its handler never runs', async () => {
    const { server, gates, fairUse, call } = await startApp({ perTenant: 1, total: 10, queuePerTenant: 5, queueTimeoutMs: 60_000 });
    running = server;
    const a1 = call('a', 'a1');
    await eventually(() => gates.started.length === 1);
    const { port } = new URL(server.url);
    const req = http.get({ host: '127.0.0.1', port, path: '/work?label=gone', headers: { 'x-user': 'a' } });
    req.on('error', () => undefined);
    await eventually(() => fairUse.queue.waiting === 1);
    req.destroy();
    await eventually(() => fairUse.queue.waiting === 0);
    gates.finish('a1');
    expect((await a1).status).toBe(200);
    const after = call('a', 'a2');
    await eventually(() => gates.started.includes('a2'));
    gates.finish('a2');
    await after;
    expect(gates.started).toEqual(['a1', 'a2']);
    const metrics = (await request(server.url, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/fair_use_rejected_total\{reason="client_gone",service="faired"\} 1/);
  });
});
