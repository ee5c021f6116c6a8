// Hostile request lines and login floods against the whole system (issue 9): every documented path under
// unusual methods and letter-case variants, emails spelt differently around the lockout, concurrent attempts.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { request } from '@taskflow/shared/testing';
import { type Account, newAccount, startSystem, type System } from './system';

const UNUSUAL_METHODS = ['PROPFIND', 'PURGE', 'LOCK', 'COPY', 'MKCOL'];
const LOGIN_FAILURE_LIMIT = 10;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** One request sent byte for byte (no URL normalisation, any method). */
function sendRaw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
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
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer: ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A concrete path for an OpenAPI template: ids are random uuids, tokens a plausible token. */
const concrete = (template: string) => template.replace(/\{([^}]+)\}/g, (_, name: string) => (name.includes('token') ? 'tok-abc123' : randomUUID()));

/** The same path with one letter's case flipped in each literal segment after /api/v1, one variant per segment. */
function caseVariants(path: string): string[] {
  const segments = path.split('/');
  const variants: string[] = [];
  segments.forEach((segment, i) => {
    if (i < 3 || !/^[a-z-]+$/.test(segment)) return;
    const flipped = [...segments];
    flipped[i] = segment[0]!.toUpperCase() + segment.slice(1);
    variants.push(flipped.join('/'));
  });
  return variants;
}

/** Whether `path` fits `template` with any value in its `{param}` segments (as the services' routers match). */
const fits = (template: string, path: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path);

describe('limits and exact routing through the gateway', () => {
  let system: System;
  let account: Account;
  let paths: Array<{ template: string; methods: string[] }>;

  beforeAll(async () => {
    system = await startSystem({ gatewayEnv: { LOGIN_FAILURE_LIMIT: String(LOGIN_FAILURE_LIMIT), AUTH_RATE_LIMIT_PER_MINUTE: '1000' } });
    account = await newAccount(system, 'limits');
    const doc = await request(system.url, 'GET', '/api/v1/openapi.json');
    paths = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).map(([template, item]) => ({
      template,
      methods: Object.keys(item).filter((m) => ['get', 'put', 'post', 'patch', 'delete'].includes(m)).map((m) => m.toUpperCase()),
    }));
  }, 60_000);
  afterAll(() => system.close());

  it('covers every documented path', () => {
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.map((p) => p.template)).toEqual(expect.arrayContaining(['/api/v1/auth/login/', '/api/v1/tasks/', '/api/v1/tasks/{id}/']));
  });

  it.each(UNUSUAL_METHODS)('answers %s on every documented path with a JSON 405 whose Allow lists the documented methods', async (method) => {
    const auth = { authorization: `Bearer ${account.access}` };
    for (const { template, methods } of paths) {
      const path = concrete(template);
      const res = await sendRaw(system.url, method, path, auth);
      expect({ path, status: res.status, code: res.body?.code, type: res.headers['content-type'] }).toEqual({
        path,
        status: 405,
        code: 'method_not_allowed',
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      // A literal path may also fit another template's parameter (`/invites/mine/` and `/invites/{id}/`): both routes allow.
      const declared = paths.filter((p) => fits(p.template, path)).flatMap((p) => p.methods);
      const expected = new Set(declared.includes('GET') ? [...declared, 'HEAD'] : declared);
      expect(declared).toEqual(expect.arrayContaining(methods));
      expect({ path, allow: new Set(String(res.headers.allow).split(', ')) }).toEqual({ path, allow: expected });
    }
  });

  it('answers 404 for every letter-case variant of every documented path, under its own methods', async () => {
    const auth = { authorization: `Bearer ${account.access}`, 'content-type': 'application/json' };
    for (const { template, methods } of paths) {
      // A variant that fits another template's parameter (`/invites/Mine/` as an invite id) is that route's business.
      for (const variant of caseVariants(concrete(template)).filter((v) => !paths.some((p) => fits(p.template, v)))) {
        for (const method of methods) {
          const res = await sendRaw(system.url, method, variant, auth, method === 'GET' || method === 'DELETE' ? undefined : Buffer.from('{}'));
          expect({ method, variant, status: res.status }).toEqual({ method, variant, status: 404 });
        }
      }
    }
    expect((await account.call('GET', '/api/v1/Tasks/')).status).toBe(404);
  });

  it('keeps a locked-out email locked however the login is spelt: path case, escapes, BOM, letter case', async () => {
    const victim = await newAccount(system, 'victim');
    const login = (path: string, body: Buffer, headers: Record<string, string> = {}) =>
      sendRaw(system.url, 'POST', path, { 'content-type': 'application/json', ...headers }, body);
    const json = (email: string, password: string) => Buffer.from(JSON.stringify({ email, password }));
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i += 1) expect((await login('/api/v1/auth/login/', json(victim.email, 'wrong-password-1'))).status).toBe(401);

    const right = victim.password;
    const upper = victim.email.toUpperCase();
    const withToken = { authorization: `Bearer ${account.access}` };
    const attempts: Array<[string, Buffer, Record<string, string>?]> = [
      ['/api/v1/auth/login/', json(victim.email, right)],
      ['/api/v1/auth/login', Buffer.concat([BOM, json(victim.email, right)])],
      ['/api/v1/auth/login/', json(` ${upper} `, right)],
      ['/api/v1/auth/login/', Buffer.concat([BOM, json(upper, right)])],
      ['/api/v1/auth/Login/', json(victim.email, right), withToken],
      ['/api/v1/auth/LOGIN', json(victim.email, right), withToken],
      ['/api/v1/auth/%6Cogin/', json(victim.email, right), withToken],
      ['/api/v1/auth//login/', json(victim.email, right), withToken],
      ['/api/v1/auth/x/../login/', json(victim.email, right), withToken],
    ];
    for (const [path, body, headers] of attempts) {
      const res = await login(path, body, headers);
      // Refused by the lockout (429), or not a login at all (404): never a token.
      expect({ path, body: body.toString('utf8'), status: res.status === 429 || res.status === 404 ? 'refused' : res.status }).toEqual({
        path,
        body: body.toString('utf8'),
        status: 'refused',
      });
      expect(res.body?.access).toBeUndefined();
    }
  });

  it('lets at most LOGIN_FAILURE_LIMIT of 40 concurrent wrong passwords reach identity; the rest are 429 with Retry-After', async () => {
    const target = await newAccount(system, 'race');
    const body = Buffer.from(JSON.stringify({ email: target.email, password: 'wrong-password-2' }));
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => sendRaw(system.url, 'POST', '/api/v1/auth/login/', { 'content-type': 'application/json' }, body)),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LOGIN_FAILURE_LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(40 - LOGIN_FAILURE_LIMIT);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    for (const limited of answers.filter((a) => a.status === 429)) expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
