import http from 'node:http';
import { request } from '@taskflow/shared/testing';
import type { RunningGateway } from '../src/service';
import { startGateway } from './start';
import { createTokenIssuer, type FakeService, foreignKey, identityRoutes, startFakeService, type TokenIssuer } from './support';

/** A request with headers fetch refuses to send (connection, te, ...) and a path nobody normalises. */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = http.request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('gateway request path', () => {
  let issuer: TokenIssuer;
  let identity: FakeService;
  let tenancy: FakeService;
  let work: FakeService;
  let audit: FakeService;
  let webhooks: FakeService;
  let gateway: RunningGateway;
  let token: string;

  beforeAll(async () => {
    issuer = createTokenIssuer();
    [identity, tenancy, work, audit, webhooks] = await Promise.all([
      startFakeService('identity', identityRoutes(issuer)),
      startFakeService('tenancy'),
      startFakeService('work'),
      startFakeService('audit'),
      startFakeService('webhooks'),
    ]);
    gateway = await startGateway({ identityUrl: identity.url, tenancyUrl: tenancy.url, workUrl: work.url, auditUrl: audit.url, webhooksUrl: webhooks.url });
    token = issuer.sign();
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([identity, tenancy, work, audit, webhooks].map((s) => s.close()));
  });

  it('routes each path prefix to its service, passing path and query unchanged', async () => {
    const cases: Array<[string, string]> = [
      ['/api/v1/auth/me/', 'identity'],
      ['/api/v1/organizations/', 'tenancy'],
      ['/api/v1/organizations/8c0f/members/?limit=2', 'tenancy'],
      ['/api/v1/invites/mine', 'tenancy'],
      ['/api/v1/projects/?organization=abc', 'work'],
      ['/api/v1/tasks/?status=todo&status=done&q=a%20b', 'work'],
      ['/api/v1/activity/?organization=abc', 'audit'],
      ['/api/v1/webhooks/?organization=abc', 'webhooks'],
      ['/api/v1/webhooks/8c0f/deliveries/?status=failed', 'webhooks'],
    ];
    for (const [path, service] of cases) {
      const res = await request(gateway.url, 'GET', path, { token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ service, method: 'GET', url: path });
    }
  });

  it('answers a JSON 404 for paths outside the route table without calling any service', async () => {
    const before = [identity, tenancy, work, audit].map((s) => s.calls.length);
    for (const path of ['/api/v1/nothing/', '/api/v1/organizationsX', '/api/v2/tasks', '/api/v1/auth/../tasks', '/api/v1/tasks/%2E%2e/x']) {
      // Sent raw: fetch would normalise the dot segments away.
      const res = await rawRequest(gateway.url, 'GET', path, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('not_found');
    }
    expect([identity, tenancy, work, audit].map((s) => s.calls.length)).toEqual(before);
  });

  it('lets register, login, refresh, logout and the JWKS through without a token, with or without the trailing slash', async () => {
    for (const path of ['/api/v1/auth/register/', '/api/v1/auth/register', '/api/v1/auth/refresh/', '/api/v1/auth/logout']) {
      const res = await request(gateway.url, 'POST', path, { body: { refresh: 'x' } });
      expect(res.status).toBe(201);
      expect(res.body.url).toBe(path);
    }
    expect((await request(gateway.url, 'POST', '/api/v1/auth/login/', { body: { email: 'a@b.c', password: 'right' } })).status).toBe(200);
    const jwks = await request(gateway.url, 'GET', '/api/v1/auth/jwks/');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0].kid).toBe(issuer.kid);
  });

  it('answers 401 without reaching the service when the token is missing, malformed, forged, expired or for another audience', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-a-jwt' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: `Bearer ${issuer.sign({}, foreignKey())}` },
      { authorization: `Bearer ${issuer.sign({ expiresIn: -10 })}` },
      { authorization: `Bearer ${issuer.sign({ audience: 'someone-else' })}` },
    ];
    for (const headers of attempts) {
      const res = await request(gateway.url, 'GET', '/api/v1/tasks/?secret-probe=1', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    // Only GET is public on the JWKS, and /me is not public at all.
    expect((await request(gateway.url, 'POST', '/api/v1/auth/jwks/', { body: {} })).status).toBe(401);
    expect((await request(gateway.url, 'GET', '/api/v1/auth/me/?secret-probe=1')).status).toBe(401);
    expect((await request(gateway.url, 'DELETE', '/api/v1/auth/register/?secret-probe=1')).status).toBe(401);
    expect(work.calls.filter((c) => c.url.includes('secret-probe'))).toEqual([]);
    expect(identity.calls.filter((c) => c.url.includes('secret-probe'))).toEqual([]);
  });

  it('forwards only the allowed request headers and drops hop-by-hop, cookies and client-sent identity headers', async () => {
    const body = JSON.stringify({ name: 'Roadmap' });
    const res = await rawRequest(
      gateway.url,
      'POST',
      '/api/v1/projects/?organization=o1',
      {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': 'key-1',
        'if-match': '"v3"',
        'if-none-match': '"v2"',
        'x-request-id': 'req-abc-123',
        'x-user-id': 'someone-else',
        'x-user-email': 'boss@example.com',
        'x-internal-token': 'forged',
        'x-service-name': 'tenancy',
        cookie: 'session=abc',
        connection: 'keep-alive, x-hop',
        'x-hop': 'drop me',
        te: 'trailers',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-forwarded-for': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
        'accept-encoding': 'gzip',
      },
      body,
    );
    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBe('req-abc-123');
    const seen = res.body.headers as Record<string, string>;
    expect(res.body.body).toBe(body);
    expect(seen).toMatchObject({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'idempotency-key': 'key-1',
      'if-match': '"v3"',
      'if-none-match': '"v2"',
      'x-request-id': 'req-abc-123',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'content-length': String(Buffer.byteLength(body)),
    });
    const allowed = new Set([
      'authorization', 'content-type', 'accept', 'idempotency-key', 'if-match', 'if-none-match', 'x-request-id',
      'x-forwarded-for', 'x-forwarded-proto', 'host', 'connection', 'content-length',
    ]);
    expect(Object.keys(seen).filter((name) => !allowed.has(name))).toEqual([]);
    expect(seen.connection).toBe('keep-alive');
  });

  it('makes a request id when the client sends none (or an insane one) and passes it to the service', async () => {
    for (const headers of [{}, { 'x-request-id': 'bad id <script>' }] as Array<Record<string, string>>) {
      const res = await request(gateway.url, 'GET', '/api/v1/tasks/', { token, headers });
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.headers['x-request-id']).toBe(id);
    }
  });

  it('copies status, body and the response headers that matter, and no others', async () => {
    const res = await request(gateway.url, 'POST', '/api/v1/tasks/', { token, body: { title: 't' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('etag')).toBe('"v1"');
    expect(res.headers.get('location')).toBe('/api/v1/somewhere/1/');
    expect(res.headers.get('link')).toBe('</api/v1/next/>; rel="next"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-internal-debug')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    const problem = await request(gateway.url, 'GET', '/api/v1/tasks/?fake_status=412', { token });
    expect(problem.status).toBe(412);
    expect(problem.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(problem.body).toMatchObject({ status: 412, code: 'as_requested' });
  });

  it('refuses a body over 1 MiB with 413 before calling the service', async () => {
    const before = work.calls.length;
    const huge = await request(gateway.url, 'POST', '/api/v1/projects/', { token, body: { name: 'x'.repeat(1024 * 1024 + 10) } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
    const exact = await request(gateway.url, 'POST', '/api/v1/projects/', { token, raw: Buffer.alloc(1024 * 1024, 0x20), headers: { 'content-type': 'application/json' } });
    expect(exact.status).toBe(201);
    expect(work.calls.length).toBe(before + 1);
  });

  it('never sends a POST twice, but retries a GET once when a reused keep-alive socket is reset', async () => {
    // Warm the pool first so the next call reuses a kept-alive socket.
    expect((await request(gateway.url, 'GET', '/api/v1/projects/', { token })).status).toBe(200);
    const post = await request(gateway.url, 'POST', '/api/v1/projects/?fake_reset=1&n=post', { token, body: { name: 'p' } });
    expect(post.status).toBe(503);
    expect(post.body.code).toBe('service_unavailable');
    expect(post.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(work.calls.filter((c) => c.url.includes('n=post'))).toHaveLength(1);

    expect((await request(gateway.url, 'GET', '/api/v1/projects/', { token })).status).toBe(200);
    const get = await request(gateway.url, 'GET', '/api/v1/projects/?fake_reset=1&n=get', { token });
    expect(get.status).toBe(503);
    expect(work.calls.filter((c) => c.url.includes('n=get'))).toHaveLength(2);
  });

  it('labels requests by route prefix, so secret tokens in invite paths never reach logs or metrics', async () => {
    const res = await request(gateway.url, 'POST', '/api/v1/invites/accept/SECRET-INVITE-TOKEN/', { token });
    expect(res.status).toBe(201);
    const metrics = await request(gateway.metricsUrl, 'GET', '/metrics');
    expect(metrics.body).toContain('route="/api/v1/invites"');
    expect(metrics.body).not.toContain('SECRET-INVITE-TOKEN');
  });
});
