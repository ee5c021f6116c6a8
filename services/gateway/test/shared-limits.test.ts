import { eventually, request, testRedisUrl, uniqueName } from '@taskflow/shared/testing';
import Redis from 'ioredis';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

/** 1 for the rate-limit backend in use, read from the gateway's /metrics. */
async function limitBackend(gateway: RunningGateway): Promise<string> {
  const metrics = await request<string>(gateway.metricsUrl, 'GET', '/metrics');
  const inUse = /gateway_rate_limit_backend\{[^}]*backend="(redis|memory)"[^}]*\} 1\b/.exec(metrics.body);
  if (!inUse) throw new Error('no rate-limit backend gauge at 1');
  return inUse[1]!;
}

describe('rate limits shared by gateways through Redis', () => {
  const issuer = createTokenIssuer();
  const keyPrefix = `${uniqueName('tf_test')}:`;
  const redisUrl = testRedisUrl();
  let redis: Redis;
  let identity: FakeService;
  let work: FakeService;
  let proxy: TcpProxy;
  const gateways: RunningGateway[] = [];
  let a: RunningGateway;
  let b: RunningGateway;

  const start = async (url: string) => {
    const gateway = await startGateway({
      identityUrl: identity.url,
      workUrl: work.url,
      env: { TRUST_PROXY: 'true', REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix, WRITE_RATE_LIMIT_PER_MINUTE: '6', AUTH_RATE_LIMIT_PER_MINUTE: '60' },
    });
    gateways.push(gateway);
    return gateway;
  };
  const login = (gateway: RunningGateway, email: string, address: string, password = 'wrong') =>
    request(gateway.url, 'POST', '/api/v1/auth/login/', { body: { email, password }, headers: { 'x-forwarded-for': address } });
  const loginCalls = (email: string) => identity.callsTo('/api/v1/auth/login').filter((c) => c.body.includes(email)).length;

  beforeAll(async () => {
    const { hostname, port } = new URL(redisUrl);
    redis = new Redis(redisUrl);
    [identity, work, proxy] = await Promise.all([
      startFakeService('identity', identityRoutes(issuer)),
      startFakeService('work'),
      startTcpProxy({ host: hostname, port: Number(port || 6379) }),
    ]);
    a = await start(redisUrl);
    b = await start(redisUrl);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all([identity.close(), work.close(), proxy.close()]);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('counts failed logins once across gateways: the 11th is 429 whichever gateway it reaches', async () => {
    expect([await limitBackend(a), await limitBackend(b)]).toEqual(['redis', 'redis']);
    for (let i = 0; i < 10; i += 1) expect((await login(i % 2 === 0 ? a : b, 'eve@example.com', '10.9.0.1')).status).toBe(401);
    for (const gateway of [a, b]) {
      const refused = await login(gateway, 'eve@example.com', '10.9.0.1', 'right');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(800);
    }
    expect(loginCalls('eve@example.com')).toBe(10);
  });

  it('lets at most 10 of 40 concurrent wrong logins spread over two gateways reach identity', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => login(i % 2 === 0 ? a : b, 'frank@example.com', '10.9.0.2')));
    expect(loginCalls('frank@example.com')).toBe(10);
    expect(answers.filter((r) => r.status === 401)).toHaveLength(10);
    expect(answers.filter((r) => r.status === 429)).toHaveLength(30);
  });

  it('clears the failures of a pair on every gateway after a successful login on one', async () => {
    for (let i = 0; i < 9; i += 1) expect((await login(a, 'gina@example.com', '10.9.0.3')).status).toBe(401);
    expect((await login(b, 'gina@example.com', '10.9.0.3', 'right')).status).toBe(200);
    for (let i = 0; i < 10; i += 1) expect((await login(i % 2 === 0 ? b : a, 'gina@example.com', '10.9.0.3')).status).toBe(401);
    expect((await login(a, 'gina@example.com', '10.9.0.3')).status).toBe(429);
  });

  it('holds the per-address auth limit across gateways', async () => {
    for (let i = 0; i < 60; i += 1) {
      const res = await request((i % 2 === 0 ? a : b).url, 'POST', '/api/v1/auth/register/', { body: {}, headers: { 'x-forwarded-for': '10.9.0.4' } });
      expect(res.status).toBe(201);
    }
    for (const gateway of [a, b]) {
      const refused = await request(gateway.url, 'POST', '/api/v1/auth/register/', { body: {}, headers: { 'x-forwarded-for': '10.9.0.4' } });
      expect(refused.status).toBe(429);
    }
  });

  it('holds the per-user write limit across gateways, and another user keeps writing', async () => {
    const token = issuer.sign({ sub: '7d1c4a52-8a0e-4d5e-9d43-3a9f0f6c2b11' });
    for (let i = 0; i < 6; i += 1) expect((await request((i % 2 === 0 ? a : b).url, 'POST', '/api/v1/projects/', { token, body: { name: 'p' } })).status).toBe(201);
    for (const gateway of [a, b]) expect((await request(gateway.url, 'POST', '/api/v1/projects/', { token, body: { name: 'p' } })).status).toBe(429);
    expect((await request(a.url, 'POST', '/api/v1/projects/', { token: issuer.sign(), body: { name: 'p' } })).status).toBe(201);
  });

  it('stores no email or client address in Redis keys', async () => {
    await login(a, 'Hank@Example.com', '10.9.0.5');
    const keys = await redis.keys(`${keyPrefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toMatch(/@|example|10\.9\.0/i);
  });

  it('limits in memory, answering every request, when Redis cannot be reached at all', async () => {
    const lonely = await start('redis://127.0.0.1:1');
    expect(await limitBackend(lonely)).toBe('memory');
    for (let i = 0; i < 10; i += 1) expect((await login(lonely, 'ivan@example.com', '10.9.0.6')).status).toBe(401);
    expect((await login(lonely, 'ivan@example.com', '10.9.0.6', 'right')).status).toBe(429);
    expect(loginCalls('ivan@example.com')).toBe(10);
  });

  it('falls back to memory while Redis hangs or is gone, and shares the limits again once it is back', async () => {
    const viaProxy = await start(proxy.url);
    expect(await limitBackend(viaProxy)).toBe('redis');

    proxy.stall();
    // Still answered (no 500, no hang), and counted: in memory now.
    for (let i = 0; i < 10; i += 1) expect((await login(viaProxy, 'judy@example.com', '10.9.0.7')).status).toBe(401);
    expect(await limitBackend(viaProxy)).toBe('memory');
    expect((await login(viaProxy, 'judy@example.com', '10.9.0.7', 'right')).status).toBe(429);
    expect(loginCalls('judy@example.com')).toBe(10);

    await proxy.restore();
    await eventually(async () => (await limitBackend(viaProxy)) === 'redis', 5000, 50);
    // Shared again: failures through another gateway count here.
    for (let i = 0; i < 10; i += 1) expect((await login(a, 'karl@example.com', '10.9.0.8')).status).toBe(401);
    expect((await login(viaProxy, 'karl@example.com', '10.9.0.8', 'right')).status).toBe(429);

    await proxy.cut();
    expect((await login(viaProxy, 'lena@example.com', '10.9.0.9')).status).toBe(401);
    await eventually(async () => (await limitBackend(viaProxy)) === 'memory', 5000, 50);
    await proxy.restore();
    await eventually(async () => (await limitBackend(viaProxy)) === 'redis', 5000, 50);
  });
});
