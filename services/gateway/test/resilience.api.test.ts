import { eventually, request } from '@taskflow/shared/testing';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

/** The breaker state gauge of one upstream, read from /metrics (0 closed, 1 half-open, 2 open). */
async function breakerState(metricsUrl: string, upstream: string): Promise<number> {
  const metrics = await request<string>(metricsUrl, 'GET', '/metrics');
  const match = new RegExp(`gateway_upstream_circuit_state\\{[^}]*upstream="${upstream}"[^}]*\\} (\\d)`).exec(metrics.body);
  if (!match) throw new Error(`no breaker gauge for ${upstream}`);
  return Number(match[1]);
}

// One gateway, one upstream per behaviour so breaker statistics never mix:
// tenancy is down, work trips its breaker, audit answers 4xx, identity is slow.
describe('gateway resilience', () => {
  const issuer = createTokenIssuer();
  let identity: FakeService;
  let work: FakeService;
  let audit: FakeService;
  let gateway: RunningGateway;
  let token: string;

  beforeAll(async () => {
    [identity, work, audit] = await Promise.all([
      startFakeService('identity', identityRoutes(issuer)),
      startFakeService('work'),
      startFakeService('audit'),
    ]);
    gateway = await startGateway({
      identityUrl: identity.url,
      workUrl: work.url,
      auditUrl: audit.url,
      env: { UPSTREAM_TIMEOUT_MS: '300', BREAKER_RESET_MS: '1000' },
    });
    token = issuer.sign();
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([identity, work, audit].map((s) => s.close()));
  });

  it('answers 503 with Retry-After at once when a service cannot be reached', async () => {
    const started = Date.now();
    const res = await request(gateway.url, 'GET', '/api/v1/organizations/', { token });
    // Not a hang: a bound far under any client's patience (a loaded CI machine stretches it); that it
    // did not wait out UPSTREAM_TIMEOUT_MS shows in the 503, where a timeout answers 504.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 504 upstream_timeout when a service does not answer within UPSTREAM_TIMEOUT_MS', async () => {
    const started = Date.now();
    const res = await request(gateway.url, 'GET', '/api/v1/auth/me/?fake_sleep=1500', { token });
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(1200);
    // The next call gets its own deadline (no shared abort signal left aborted).
    expect((await request(gateway.url, 'GET', '/api/v1/auth/me/', { token })).status).toBe(200);
  });

  it('never opens the breaker on 4xx answers', async () => {
    for (let i = 0; i < 15; i += 1) {
      const status = [400, 404, 409, 412, 422][i % 5]!;
      const res = await request(gateway.url, 'GET', `/api/v1/activity/?fake_status=${status}`, { token });
      expect(res.status).toBe(status);
    }
    expect(await breakerState(gateway.metricsUrl, 'audit')).toBe(0);
    const ok = await request(gateway.url, 'GET', '/api/v1/activity/', { token });
    expect(ok.status).toBe(200);
    expect(audit.calls).toHaveLength(16);
  });

  it('opens the breaker after repeated failures, fails fast without calling the service, and closes once it recovers', async () => {
    work.failWith = 503;
    for (let i = 0; i < 10; i += 1) {
      const res = await request(gateway.url, 'GET', '/api/v1/projects/', { token });
      // The service's own 503 is relayed as it came, and counted.
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
    }
    expect(work.calls).toHaveLength(10);
    expect(await breakerState(gateway.metricsUrl, 'work')).toBe(2);

    const started = Date.now();
    const rejected = await request(gateway.url, 'POST', '/api/v1/projects/', { token, body: { name: 'p' } });
    // Failing fast shows in work.calls staying at 10 below; the bound only rules out a hang.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(rejected.status).toBe(503);
    expect(rejected.body.code).toBe('service_unavailable');
    expect(rejected.headers.get('retry-after')).toBe('1');
    expect(work.calls).toHaveLength(10);

    work.failWith = undefined;
    await eventually(async () => (await request(gateway.url, 'GET', '/api/v1/projects/', { token })).status === 200, 5000, 100);
    expect(await breakerState(gateway.metricsUrl, 'work')).toBe(0);
    expect((await request(gateway.url, 'POST', '/api/v1/projects/', { token, body: { name: 'p' } })).status).toBe(201);
  });
});
