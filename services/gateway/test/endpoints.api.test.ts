import { eventually, freePort, request } from '@taskflow/shared/testing';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

/** The value of one gateway metric series whose labels include all of `labels` (0 when absent). */
async function metric(gateway: RunningGateway, name: string, labels: Record<string, string>): Promise<number> {
  const text = (await request<string>(gateway.metricsUrl, 'GET', '/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

const hostPort = (url: string) => new URL(url).host;
/** An ejected endpoint stays out for the whole test, however slowly the machine runs it. */
const RESTS_LONG = { BREAKER_RESET_MS: '60000' };

// Work has several endpoints here (real HTTP servers, or ports nothing listens on); each test starts its own gateway.
describe('an upstream with several endpoints', () => {
  const issuer = createTokenIssuer();
  const token = issuer.sign();
  let identity: FakeService;
  const services: FakeService[] = [];
  const gateways: RunningGateway[] = [];

  const fake = async (name: string, port = 0) => {
    const service = await startFakeService(name, undefined, port);
    services.push(service);
    return service;
  };
  const gatewayFor = async (workUrls: string[], env: Record<string, string> = {}) => {
    const gateway = await startGateway({ identityUrl: identity.url, workUrl: workUrls.join(','), env: { BREAKER_RESET_MS: '500', ...env } });
    gateways.push(gateway);
    return gateway;
  };
  const get = (gateway: RunningGateway, query = '') => request(gateway.url, 'GET', `/api/v1/projects/${query}`, { token });
  const post = (gateway: RunningGateway, headers: Record<string, string> = {}) => request(gateway.url, 'POST', '/api/v1/projects/', { token, body: { name: 'p' }, headers });

  beforeAll(async () => {
    identity = await startFakeService('identity', identityRoutes(issuer));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all([identity, ...services].map((s) => s.close()));
  });

  it('spreads requests over every endpoint, and reports which one served them', async () => {
    const [a, b] = [await fake('work-a'), await fake('work-b')];
    const gateway = await gatewayFor([a.url, b.url]);
    for (let i = 0; i < 10; i += 1) expect((await get(gateway)).status).toBe(200);
    expect([a.calls.length, b.calls.length]).toEqual([5, 5]);
    expect(await metric(gateway, 'gateway_upstream_endpoint_responses_total', { upstream: 'work', endpoint: hostPort(a.url) })).toBe(5);
    expect(await metric(gateway, 'gateway_upstream_endpoint_responses_total', { upstream: 'work', endpoint: hostPort(b.url) })).toBe(5);
  });

  it('sends a request to the least busy endpoint', async () => {
    const [a, b] = [await fake('work-a'), await fake('work-b')];
    const gateway = await gatewayFor([a.url, b.url]);
    const slow = get(gateway, '?fake_sleep=600');
    const busy = await eventually(() => [a, b].find((s) => s.calls.length === 1));
    const idle = busy === a ? b : a;
    for (let i = 0; i < 4; i += 1) expect((await get(gateway)).status).toBe(200);
    expect((await slow).status).toBe(200);
    expect([busy.calls.length, idle.calls.length]).toEqual([1, 4]);
  });

  it('retries a GET once on another endpoint when the first refuses the connection, and ejects the dead one at once', async () => {
    const alive = await fake('work-alive');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const gateway = await gatewayFor([dead, alive.url], RESTS_LONG);
    for (let i = 0; i < 6; i += 1) {
      const res = await get(gateway);
      expect(res.status).toBe(200);
      expect(res.body.service).toBe('work-alive');
    }
    expect(alive.calls).toHaveLength(6);
    // Refused once, then out of rotation: a single retry in all.
    expect(await metric(gateway, 'gateway_upstream_retries_total', { upstream: 'work' })).toBe(1);
    expect(await metric(gateway, 'gateway_upstream_endpoint_circuit_state', { upstream: 'work', endpoint: hostPort(dead) })).toBe(2);
    expect(await metric(gateway, 'gateway_upstream_circuit_state', { upstream: 'work' })).toBe(0);
  });

  it('retries a POST carrying an Idempotency-Key on another endpoint', async () => {
    const alive = await fake('work-alive');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const gateway = await gatewayFor([alive.url, dead], RESTS_LONG);
    const answers = [await post(gateway, { 'idempotency-key': 'k-1' }), await post(gateway, { 'idempotency-key': 'k-2' })];
    expect(answers.map((r) => r.status)).toEqual([201, 201]);
    expect(alive.calls.map((c) => c.headers['idempotency-key'])).toEqual(['k-1', 'k-2']);
    expect(await metric(gateway, 'gateway_upstream_retries_total', { upstream: 'work' })).toBe(1);
  });

  it('never retries a plain POST: the one sent to a refusing endpoint gets 503 and Retry-After', async () => {
    const alive = await fake('work-alive');
    const dead = `http://127.0.0.1:${await freePort()}`;
    const gateway = await gatewayFor([alive.url, dead], RESTS_LONG);
    // In turn, one of the first two goes to the dead endpoint.
    const answers = [await post(gateway), await post(gateway)];
    expect(answers.map((r) => r.status).sort()).toEqual([201, 503]);
    const refused = answers.find((r) => r.status === 503)!;
    expect(refused.body.code).toBe('service_unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(alive.calls).toHaveLength(1);
    expect(await metric(gateway, 'gateway_upstream_retries_total', { upstream: 'work' })).toBe(0);
    // The dead one is out of rotation now: plain POSTs all reach the live one.
    for (let i = 0; i < 4; i += 1) expect((await post(gateway)).status).toBe(201);
    expect(alive.calls).toHaveLength(5);
  });

  it('takes an endpoint back once it answers again', async () => {
    const alive = await fake('work-alive');
    const port = await freePort();
    const gateway = await gatewayFor([alive.url, `http://127.0.0.1:${port}`]);
    for (let i = 0; i < 4; i += 1) expect((await get(gateway)).status).toBe(200);
    expect(await metric(gateway, 'gateway_upstream_endpoint_circuit_state', { upstream: 'work', endpoint: `127.0.0.1:${port}` })).toBe(2);

    const back = await fake('work-back', port);
    await eventually(async () => (await get(gateway)).status === 200 && back.calls.length > 0, 5000, 50);
    expect(await metric(gateway, 'gateway_upstream_endpoint_circuit_state', { upstream: 'work', endpoint: `127.0.0.1:${port}` })).toBe(0);
    // Back in rotation for every kind of request.
    for (let i = 0; i < 4; i += 1) expect((await post(gateway)).status).toBe(201);
    expect(back.callsTo('/api/v1/projects/').filter((c) => c.method === 'POST').length).toBeGreaterThan(0);
  });

  it('answers 503 when no endpoint can be reached, and is ready while at least one answers', async () => {
    const alive = await fake('work-alive');
    const [deadA, deadB] = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
    const allDead = await gatewayFor([deadA, deadB]);
    const res = await get(allDead);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('service_unavailable');
    const notReady = await request(allDead.url, 'GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.work).toBe('unavailable');

    const oneAlive = await gatewayFor([deadA, alive.url]);
    const ready = await request(oneAlive.url, 'GET', '/readyz');
    expect(ready.body.checks.work).toBe('ok');
  });

  it('refuses to start with an invalid endpoint list, naming the variable', async () => {
    await expect(gatewayFor(['http://127.0.0.1:4003', 'not a url'])).rejects.toThrow(/WORK_URL/);
    await expect(gatewayFor(['http://127.0.0.1:4003', 'http://127.0.0.1:4003'])).rejects.toThrow(/WORK_URL/);
  });
});
