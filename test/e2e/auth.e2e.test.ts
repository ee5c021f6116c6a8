import { request, waitForMailTo } from '@taskflow/shared/testing';
import { startGateway } from '../../services/gateway/test/start';
import { newAccount, startSystem, type System, verificationToken, verifyEmail } from './system';

describe('auth through the gateway', () => {
  let system: System;
  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(() => system.close());

  const post = (path: string, body: unknown, headers?: Record<string, string>) => request(system.url, 'POST', path, { body, headers });

  it('registers, logs in and answers /me for the new user', async () => {
    const email = 'Grace.Hopper@Example.com';
    const registered = await post('/api/v1/auth/register/', { email: `  ${email} `, password: 'cobol-compiler-1959', first_name: 'Grace', last_name: 'Hopper' });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({ id: expect.any(String), email, first_name: 'Grace', last_name: 'Hopper', date_joined: expect.stringMatching(/Z$/), email_verified: false });
    const login = await post('/api/v1/auth/login', { email: email.toLowerCase(), password: 'cobol-compiler-1959' });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ access: expect.any(String), refresh: expect.any(String), token_type: 'Bearer', expires_in: 900 });
    const me = await request(system.url, 'GET', '/api/v1/auth/me/', { token: login.body.access });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(registered.body);
  });

  it('refuses a duplicate email in another case and a weak password', async () => {
    const account = await newAccount(system, 'dup');
    const duplicate = await post('/api/v1/auth/register/', { email: account.email.toUpperCase(), password: 'another-good-pass-1', first_name: 'A', last_name: 'B' });
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.errors.email).toBeDefined();
    const weak = await post('/api/v1/auth/register/', { email: 'weak@example.com', password: 'password', first_name: 'A', last_name: 'B' });
    expect(weak.status).toBe(400);
    expect(weak.body.errors.password).toBeDefined();
  });

  it('answers a wrong password and an unknown email identically', async () => {
    const account = await newAccount(system, 'creds');
    const wrongPassword = await post('/api/v1/auth/login/', { email: account.email, password: 'not-the-password-1' });
    const unknownEmail = await post('/api/v1/auth/login/', { email: 'nobody.at.all@example.com', password: 'not-the-password-1' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual(unknownEmail.body);
    expect(wrongPassword.body.code).toBe('invalid_credentials');
  });

  it('refuses tampered, unsigned and refresh tokens on protected routes at the gateway', async () => {
    const account = await newAccount(system, 'tokens');
    const [header, payload, signature] = account.access.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    for (const token of [`${header}.${forged}.${signature}`, `${none}.${payload}.`, account.refresh, 'garbage']) {
      for (const path of ['/api/v1/auth/me/', '/api/v1/organizations/', '/api/v1/tasks/', '/api/v1/activity/']) {
        const res = await request(system.url, 'GET', path, { token });
        expect({ path, status: res.status }).toEqual({ path, status: 401 });
        expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      }
    }
    expect((await request(system.url, 'GET', '/api/v1/organizations/')).status).toBe(401);
  });

  it('rotates refresh tokens, revokes the family on reuse, and logs out', async () => {
    const account = await newAccount(system, 'refresh');
    const first = await post('/api/v1/auth/refresh/', { refresh: account.refresh });
    expect(first.status).toBe(200);
    expect(first.body.refresh).not.toBe(account.refresh);
    const reuse = await post('/api/v1/auth/refresh/', { refresh: account.refresh });
    expect(reuse.status).toBe(401);
    // Reuse of the old token killed the whole family, including the token just issued.
    expect((await post('/api/v1/auth/refresh/', { refresh: first.body.refresh })).status).toBe(401);

    const login = await post('/api/v1/auth/login/', { email: account.email, password: account.password });
    const rotated = await post('/api/v1/auth/refresh/', { refresh: login.body.refresh });
    expect((await post('/api/v1/auth/logout/', { refresh: login.body.refresh })).status).toBe(204);
    expect((await post('/api/v1/auth/refresh/', { refresh: rotated.body.refresh })).status).toBe(401);
  });

  it('answers malformed, oversized and non-JSON bodies, unknown routes and wrong methods with problem+json', async () => {
    const malformed = await request(system.url, 'POST', '/api/v1/auth/login/', { raw: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const form = await request(system.url, 'POST', '/api/v1/auth/login/', { raw: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const huge = await post('/api/v1/auth/register/', { email: 'big@example.com', password: 'x'.repeat(2 * 1024 * 1024), first_name: 'A', last_name: 'B' });
    expect(huge.status).toBe(413);
    const unknown = await request(system.url, 'GET', '/api/v1/nothing-here/');
    expect(unknown.status).toBe(404);
    // Without a token the gateway answers 401 before any routing detail leaks; with one, the service's 405.
    const account = await newAccount(system, 'methods');
    const wrongMethod = await request(system.url, 'DELETE', '/api/v1/auth/login/', { token: account.access });
    expect(wrongMethod.status).toBe(405);
    for (const res of [malformed, form, huge, unknown, wrongMethod]) {
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: res.status, code: expect.any(String), detail: expect.any(String) });
    }
  });

  it('never answers 5xx to hostile auth input', async () => {
    const hostile: unknown[] = [null, [], 'x', 1, true, { email: null }, { email: ['a@b.c'] }, { email: { $ne: '' }, password: { $ne: '' } },
      { email: "' OR 1=1 --", password: "' OR 1=1 --" }, { email: 'a\u0000@b.c', password: 'p\u0000assword12' }, { email: '😀@例え.テスト', password: '🔑'.repeat(10) },
      { email: 'a'.repeat(10000), password: 'b'.repeat(10000), first_name: 'c'.repeat(10000), last_name: '' }, { refresh: 12 }, { refresh: 'a'.repeat(5000) }];
    for (const path of ['/api/v1/auth/register/', '/api/v1/auth/login/', '/api/v1/auth/refresh/', '/api/v1/auth/logout/']) {
      for (const body of hostile) {
        const res = await post(path, body);
        expect({ path, body, status: res.status < 500 }).toEqual({ path, body, status: true });
      }
    }
  });

  it('carries the request id from the client to the response', async () => {
    const res = await request(system.url, 'GET', '/api/v1/auth/jwks/', { headers: { 'x-request-id': 'client-chosen-id-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('client-chosen-id-1');
    expect(res.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
  });

  it('rate limits credential requests per address and failed logins per email (429 + Retry-After)', async () => {
    const limited = await startGateway({
      identityUrl: system.services.identity.url,
      env: { AUTH_RATE_LIMIT_PER_MINUTE: '30', LOGIN_FAILURE_LIMIT: '3', LOGIN_FAILURE_WINDOW_SECONDS: '900' },
    });
    try {
      const account = await newAccount(system, 'limited');
      const attempt = (password: string, email = account.email) => request(limited.url, 'POST', '/api/v1/auth/login/', { body: { email, password } });
      for (let i = 0; i < 3; i += 1) expect((await attempt('wrong-password-123')).status).toBe(401);
      const blocked = await attempt(account.password);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another email from the same address is still served.
      expect((await attempt('wrong-password-123', 'someone.else@example.com')).status).toBe(401);
      // The per-address budget runs out too.
      const statuses: number[] = [];
      for (let i = 0; i < 30; i += 1) statuses.push((await request(limited.url, 'POST', '/api/v1/auth/refresh/', { body: { refresh: 'x' } })).status);
      expect(statuses).toContain(429);
      const last = await request(limited.url, 'POST', '/api/v1/auth/refresh/', { body: { refresh: 'x' } });
      expect(last.status).toBe(429);
      expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });

  it('keeps invites from an account until it verifies its address from the mailed link, then lets it join at once', async () => {
    const owner = await newAccount(system, 'founder');
    const org = (await owner.call('POST', '/api/v1/organizations/', { name: 'Verified Only' })).body;
    const newcomer = await newAccount(system, 'newcomer', { verified: false });
    expect((await newcomer.call('GET', '/api/v1/auth/me/')).body.email_verified).toBe(false);
    const sent = await owner.call('POST', '/api/v1/invites/', { organization: org.id, email: newcomer.email.toUpperCase(), role: 'member' });
    expect(sent.status).toBe(201);
    expect(sent.body.organization_name).toBe('Verified Only');
    expect((await newcomer.call('GET', '/api/v1/invites/mine/')).body).toEqual({ results: [], next: null });
    const refused = await newcomer.call('POST', `/api/v1/invites/accept/${encodeURIComponent(sent.body.token)}/`);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ status: 400, code: 'email_not_verified', detail: 'Email not verified' });

    // Straight after verifying, before tenancy may have consumed the event: tenancy asks identity.
    await verifyEmail(system, newcomer);
    expect((await newcomer.call('GET', '/api/v1/auth/me/')).body.email_verified).toBe(true);
    const mine = await newcomer.call('GET', '/api/v1/invites/mine/');
    expect(mine.body.results.map((i: any) => [i.id, i.organization_name])).toEqual([[sent.body.id, 'Verified Only']]);
    const accepted = await newcomer.call('POST', `/api/v1/invites/accept/${encodeURIComponent(sent.body.token)}/`);
    expect(accepted.status).toBe(200);
    // The link worked once.
    const token = await verificationToken(system, newcomer.email);
    expect((await newcomer.call('POST', `/api/v1/auth/verify-email/${token}/`)).status).toBe(400);
  });

  it('resets a forgotten password from the mailed link without a token, revoking every session', async () => {
    const account = await newAccount(system, 'forgetful');
    const unknown = await post('/api/v1/auth/password-reset/', { email: 'nobody.here@example.com' });
    const known = await post('/api/v1/auth/password-reset/', { email: account.email.toUpperCase() });
    // The same answer whether or not the account exists.
    expect([unknown.status, known.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);

    const { match } = await waitForMailTo(system.mailDir, account.email, /\/api\/v1\/auth\/password-reset\/([A-Za-z0-9_-]{43})\//);
    const reset = await post(`/api/v1/auth/password-reset/${match[1]}/`, { password: 'brand-new-lantern-77' });
    expect(reset.status).toBe(204);
    expect((await post('/api/v1/auth/refresh/', { refresh: account.refresh })).status).toBe(401);
    expect((await post('/api/v1/auth/login/', { email: account.email, password: account.password })).status).toBe(401);
    expect((await post('/api/v1/auth/login/', { email: account.email, password: 'brand-new-lantern-77' })).status).toBe(200);
    // Single use.
    expect((await post(`/api/v1/auth/password-reset/${match[1]}/`, { password: 'another-new-lantern-78' })).status).toBe(400);
  });
});
