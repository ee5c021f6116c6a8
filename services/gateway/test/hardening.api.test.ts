// The gateway against the outside review's findings (issue 9): second spellings of a path, bodies and
// emails read differently from identity, concurrent login attempts, write floods, odd methods, the docs page.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { request } from '@taskflow/shared/testing';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, identityRoutes, startFakeService } from './support';

/** One request with the path and body sent byte for byte (fetch would normalise the path). */
function sendRaw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers: body ? { ...headers, 'content-length': body.length } : headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          /* keep the text */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('gateway hardening', () => {
  const issuer = createTokenIssuer();
  let identity: FakeService;
  let work: FakeService;
  let gateway: RunningGateway;
  const from = (address: string, more: Record<string, string> = {}) => ({ 'x-forwarded-for': address, 'content-type': 'application/json', ...more });
  const loginCalls = () => identity.callsTo('/api/v1/auth/login').length;

  beforeAll(async () => {
    [identity, work] = await Promise.all([startFakeService('identity', identityRoutes(issuer)), startFakeService('work')]);
    gateway = await startGateway({
      identityUrl: identity.url,
      workUrl: work.url,
      env: { TRUST_PROXY: 'true', AUTH_RATE_LIMIT_PER_MINUTE: '1000', LOGIN_FAILURE_LIMIT: '10', LOGIN_FAILURE_WINDOW_SECONDS: '900', WRITE_RATE_LIMIT_PER_MINUTE: '5' },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([identity.close(), work.close()]);
  });

  it('never forwards a second spelling of a path (encoded letters, double slashes, dot segments), even with a token', async () => {
    const token = issuer.sign();
    const before = identity.calls.length;
    for (const path of ['/api/v1/auth/%6Cogin/', '/api/v1/auth//login/', '/api/v1/auth/./login/', '/api/v1/auth/login//', '/api/v1/tasks/x/../../auth/login/', '/api/v1/auth/verify-email/a%2Fb/']) {
      const res = await sendRaw(gateway.url, 'POST', path, from('10.9.0.1', { authorization: `Bearer ${token}` }), json({ email: 'a@b.c', password: 'x' }));
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status: 404, code: 'not_found' });
    }
    expect(identity.calls.length).toBe(before);
  });

  it('forwards the path it classified, not the raw request target', async () => {
    const token = issuer.sign();
    const res = await sendRaw(gateway.url, 'GET', 'http://elsewhere.example/api/v1/tasks/?a=1', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(work.calls.at(-1)!.url).toBe('/api/v1/tasks/?a=1');
  });

  it('keys the login lockout on the email identity reads: a BOM, letter case or Unicode normalisation changes nothing', async () => {
    const login = (body: Buffer) => sendRaw(gateway.url, 'POST', '/api/v1/auth/login/', from('10.9.1.1'), body);
    for (let i = 0; i < 10; i += 1) expect((await login(json({ email: 'josé.i̇nci@example.com', password: 'wrong' }))).status).toBe(401);
    const calls = loginCalls();
    const variants = [
      Buffer.concat([BOM, json({ email: 'josé.i̇nci@example.com', password: 'right' })]),
      json({ email: 'JOSÉ.İNCI@EXAMPLE.COM', password: 'right' }),
      json({ email: ' jose\u0301.i\u0307nci@example.com ', password: 'right' }),
      Buffer.concat([BOM, json({ email: 'José.İnci@Example.com', password: 'right' })]),
    ];
    for (const body of variants) {
      const res = await login(body);
      expect({ body: body.toString('utf8'), status: res.status }).toEqual({ body: body.toString('utf8'), status: 429 });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(800);
    }
    expect(loginCalls()).toBe(calls);
  });

  it('lets at most LOGIN_FAILURE_LIMIT of 40 concurrent wrong passwords reach identity; the rest are 429 with Retry-After', async () => {
    const calls = loginCalls();
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => sendRaw(gateway.url, 'POST', '/api/v1/auth/login/', from('10.9.2.1'), json({ email: 'race@example.com', password: 'wrong' }))),
    );
    const unauthorized = answers.filter((a) => a.status === 401);
    const limited = answers.filter((a) => a.status === 429);
    expect(unauthorized.length).toBeLessThanOrEqual(10);
    expect(unauthorized.length + limited.length).toBe(40);
    expect(limited.every((a) => Number(a.headers['retry-after']) >= 1)).toBe(true);
    expect(loginCalls() - calls).toBeLessThanOrEqual(10);
  });

  it('gives a reserved attempt back when identity answers neither 401 nor success', async () => {
    const login = (password: string, query = '') =>
      sendRaw(gateway.url, 'POST', `/api/v1/auth/login/${query}`, from('10.9.3.1'), json({ email: 'kept@example.com', password }));
    for (let i = 0; i < 12; i += 1) expect((await login('wrong', '?fake_status=400')).status).toBe(400);
    for (let i = 0; i < 10; i += 1) expect((await login('wrong')).status).toBe(401);
    expect((await login('wrong')).status).toBe(429);
  });

  it('refuses a signed-in user writes beyond WRITE_RATE_LIMIT_PER_MINUTE with 429 + Retry-After; reads and other users go on', async () => {
    const alice = issuer.sign({ sub: randomUUID() });
    const bob = issuer.sign({ sub: randomUUID() });
    const writes: Array<[string, string]> = [['POST', '/api/v1/tasks/'], ['PATCH', '/api/v1/tasks/1/'], ['PUT', '/api/v1/tasks/1/'], ['DELETE', '/api/v1/tasks/1/'], ['POST', '/api/v1/projects/']];
    for (const [method, path] of writes) expect((await request(gateway.url, method, path, { token: alice, body: {} })).status).toBeLessThan(300);
    const before = work.calls.length;
    const refused = await request(gateway.url, 'DELETE', '/api/v1/tasks/2/', { token: alice });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(work.calls.length).toBe(before);
    expect((await request(gateway.url, 'GET', '/api/v1/tasks/', { token: alice })).status).toBe(200);
    expect((await request(gateway.url, 'POST', '/api/v1/tasks/', { token: bob, body: {} })).status).toBe(201);
  });

  it('refuses a token without exp', async () => {
    const res = await request(gateway.url, 'GET', '/api/v1/tasks/', { token: issuer.sign({ expiresIn: null }) });
    expect(res.status).toBe(401);
  });

  it.each(['PROPFIND', 'PURGE', 'LOCK', 'COPY', 'MKCOL', 'DELETE'])('answers %s on its own paths with a JSON 405 and Allow', async (method) => {
    for (const path of ['/api/docs', '/api/docs/assets/swagger-ui.css', '/api/v1/openapi.json', '/healthz', '/readyz/']) {
      const res = await sendRaw(gateway.url, method, path);
      expect({ path, status: res.status, code: res.body?.code, allow: res.headers.allow }).toEqual({
        path,
        status: 405,
        code: 'method_not_allowed',
        allow: expect.stringMatching(/GET/),
      });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('serves the docs page with nosniff, frame protection and a Content-Security-Policy that allows only its own assets', async () => {
    for (const path of ['/api/docs', '/api/docs/assets/init.js', '/api/docs/assets/swagger-ui.css']) {
      const res = await fetch(`${gateway.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toMatch(/https?:|unsafe-eval/);
    }
  });
});
