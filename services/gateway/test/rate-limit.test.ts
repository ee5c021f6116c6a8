import { request } from '@taskflow/shared/testing';
import { SlidingWindowLimiter } from '../src/rate-limit';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

describe('SlidingWindowLimiter', () => {
  let now = 1_000_000;
  const limiters: SlidingWindowLimiter[] = [];
  const limiter = (limit: number, windowMs: number) => {
    const l = new SlidingWindowLimiter({ limit, windowMs, now: () => now });
    limiters.push(l);
    return l;
  };
  afterAll(() => Promise.all(limiters.map((l) => l.close())));

  it('allows `limit` hits per window, then refuses with the seconds until the oldest hit leaves it', async () => {
    const l = limiter(3, 60_000);
    expect((await Promise.all([l.take('a'), l.take('a'), l.take('a')])).every((d) => d.allowed)).toBe(true);
    now += 20_500;
    expect(await l.take('a')).toEqual({ allowed: false, retryAfterSeconds: 40 });
    expect((await l.take('b')).allowed).toBe(true);
    now += 39_500;
    expect((await Promise.all([l.take('a'), l.take('a'), l.take('a')])).every((d) => d.allowed)).toBe(true);
    expect((await l.take('a')).allowed).toBe(false);
  });

  it('gives back exactly the released hit, and forgets a key on reset', async () => {
    const l = limiter(2, 1000);
    const first = await l.take('k');
    const second = await l.take('k');
    expect((await l.take('k')).allowed).toBe(false);
    await l.release('k', first.hit!);
    await l.release('k', first.hit!);
    const third = await l.take('k');
    expect(third.allowed).toBe(true);
    expect((await l.take('k')).allowed).toBe(false);
    expect(new Set([first.hit, second.hit, third.hit]).size).toBe(3);
    await l.reset('k');
    expect((await l.take('k')).allowed).toBe(true);
  });

  it('sweeps keys whose hits have all left the window', async () => {
    const l = limiter(5, 1000);
    await l.take('old');
    now += 600;
    await l.take('new');
    now += 500;
    l.sweep();
    expect(l.size).toBe(1);
    now += 1000;
    l.sweep();
    expect(l.size).toBe(0);
  });
});

describe('gateway rate limits on the auth endpoints', () => {
  const issuer = createTokenIssuer();
  let identity: FakeService;
  let gateway: { url: string; close(): Promise<void> };
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const loginCalls = () => identity.callsTo('/api/v1/auth/login').length;

  beforeAll(async () => {
    identity = await startFakeService('identity', identityRoutes(issuer));
    gateway = await startGateway({
      identityUrl: identity.url,
      env: { TRUST_PROXY: 'true', AUTH_RATE_LIMIT_PER_MINUTE: '8', LOGIN_FAILURE_LIMIT: '3', LOGIN_FAILURE_WINDOW_SECONDS: '900' },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await identity.close();
  });

  it('refuses a client address its requests beyond AUTH_RATE_LIMIT_PER_MINUTE with 429 and Retry-After; other addresses are unaffected', async () => {
    const paths = ['/api/v1/auth/register/', '/api/v1/auth/refresh/', '/api/v1/auth/logout/', '/api/v1/auth/register'];
    for (let i = 0; i < 8; i += 1) {
      const res = await request(gateway.url, 'POST', paths[i % paths.length]!, { body: { refresh: 'r' }, headers: from('10.1.0.1') });
      expect(res.status).toBe(201);
    }
    const before = identity.calls.length;
    const limited = await request(gateway.url, 'POST', '/api/v1/auth/login/', { body: { email: 'a@b.c', password: 'right' }, headers: from('10.1.0.1') });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(limited.body.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(identity.calls.length).toBe(before);

    expect((await request(gateway.url, 'POST', '/api/v1/auth/register/', { body: {}, headers: from('10.1.0.2') })).status).toBe(201);
    // The JWKS is not a credential endpoint.
    expect((await request(gateway.url, 'GET', '/api/v1/auth/jwks/', { headers: from('10.1.0.1') })).status).toBe(200);
  });

  it('refuses logins for an email from an address after LOGIN_FAILURE_LIMIT failures, without asking identity', async () => {
    const login = (email: string, password: string, address: string) =>
      request(gateway.url, 'POST', '/api/v1/auth/login/', { body: { email, password }, headers: from(address) });
    for (let i = 0; i < 3; i += 1) expect((await login('Bob@Example.com', 'wrong', '10.2.0.1')).status).toBe(401);
    const calls = loginCalls();

    // Even the right password is refused now, and for the same address however the email is written.
    for (const email of ['bob@example.com', '  BOB@example.COM ']) {
      const refused = await login(email, 'right', '10.2.0.1');
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('rate_limited');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(800);
      expect(retryAfter).toBeLessThanOrEqual(900);
    }
    expect(loginCalls()).toBe(calls);

    // Another email from that address, and that email from another address, still reach identity.
    expect((await login('carol@example.com', 'wrong', '10.2.0.1')).status).toBe(401);
    expect((await login('bob@example.com', 'right', '10.2.0.2')).status).toBe(200);
    expect(loginCalls()).toBe(calls + 2);
  });

  it('counts an attempt whose outcome it never learnt (5xx, connection cut) as a failure, and gives back one identity refused unread (400)', async () => {
    // One address per email: each stays under AUTH_RATE_LIMIT_PER_MINUTE (8).
    const login = (email: string, password: string, fake = '') =>
      request(gateway.url, 'POST', `/api/v1/auth/login/${fake}`, { body: { email, password }, headers: from(email.startsWith('eve') ? '10.4.0.1' : '10.4.0.2') });
    // Identity may have checked these guesses after the gateway stopped waiting: they count.
    expect((await login('eve@example.com', 'guess-1', '?fake_status=503')).status).toBe(503);
    expect((await login('eve@example.com', 'guess-2', '?fake_reset=1')).status).toBe(503);
    expect((await login('eve@example.com', 'guess-3', '?fake_status=500')).status).toBeGreaterThanOrEqual(500);
    const calls = loginCalls();
    expect((await login('eve@example.com', 'right')).status).toBe(429);
    expect(loginCalls()).toBe(calls);
    // A 400 says identity checked nothing: the place is given back, however many there are.
    for (let i = 0; i < 4; i += 1) expect((await login('fay@example.com', 'x', '?fake_status=400')).status).toBe(400);
    expect((await login('fay@example.com', 'right')).status).toBe(200);
  });

  it('forgets earlier failures for a pair after a successful login', async () => {
    const login = (password: string) =>
      request(gateway.url, 'POST', '/api/v1/auth/login/', { body: { email: 'dan@example.com', password }, headers: from('10.3.0.1') });
    expect((await login('wrong')).status).toBe(401);
    expect((await login('wrong')).status).toBe(401);
    expect((await login('right')).status).toBe(200);
    expect((await login('wrong')).status).toBe(401);
    expect((await login('wrong')).status).toBe(401);
    expect((await login('right')).status).toBe(200);
  });
});
