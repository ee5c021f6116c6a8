import { request } from '@taskflow/shared/testing';
import { type IdentityUnderTest, newSession, registration, type Session, startIdentityUnderTest } from './support';

describe('identity HTTP edges', () => {
  let identity: IdentityUnderTest;
  let session: Session;
  beforeAll(async () => {
    identity = await startIdentityUnderTest();
    session = await newSession(identity.url);
  });
  afterAll(() => identity.close());

  it('publishes the signing key as a JWKS without private parts', async () => {
    const res = await request(identity.url, 'GET', '/api/v1/auth/jwks/');
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual([{ kty: 'RSA', n: expect.stringMatching(/^[A-Za-z0-9_-]{342}$/), e: 'AQAB', kid: expect.any(String), alg: 'RS256', use: 'sig' }]);
    const kid = JSON.parse(Buffer.from(session.access.split('.')[0]!, 'base64url').toString()).kid;
    expect(res.body.keys[0].kid).toBe(kid);
  });

  it('documents every auth endpoint in its OpenAPI document under the auth tag', async () => {
    const doc = await request(identity.url, 'GET', '/openapi.json');
    expect(Object.keys(doc.body.paths).sort()).toEqual(
      ['jwks', 'login', 'logout', 'me', 'password-reset', 'password-reset/{token}', 'refresh', 'register', 'verify-email/resend', 'verify-email/{token}'].map(
        (p) => `/api/v1/auth/${p}/`,
      ),
    );
    const register = doc.body.paths['/api/v1/auth/register/'].post;
    expect(register.tags).toEqual(['auth']);
    expect(register.requestBody.content['application/json'].schema.properties.password).toMatchObject({ minLength: 8, maxLength: 128 });
    expect(register.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/User' });
    expect(doc.body.components.schemas.User.required).toEqual(['id', 'email', 'first_name', 'last_name', 'date_joined', 'email_verified']);
    // The document's `security` applies to every operation that does not set its own.
    expect(doc.body.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.body.paths['/api/v1/auth/me/'].get.security).toBeUndefined();
    expect(doc.body.paths['/api/v1/auth/verify-email/resend/'].post.security).toBeUndefined();
    for (const p of ['register', 'login', 'refresh', 'logout', 'verify-email/{token}', 'password-reset', 'password-reset/{token}']) {
      expect(doc.body.paths[`/api/v1/auth/${p}/`].post.security).toEqual([]);
    }
  });

  it('reports ready while its database answers', async () => {
    const res = await request(identity.url, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ database: 'ok' });
  });

  it('answers 400 for malformed JSON, 415 for a non-JSON body and 413 for a body over 1 MiB', async () => {
    const malformed = await request(identity.url, 'POST', '/api/v1/auth/login', { raw: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_json');
    const form = await request(identity.url, 'POST', '/api/v1/auth/register', { raw: 'email=a@b.co', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const huge = await request(identity.url, 'POST', '/api/v1/auth/register', { body: registration({ first_name: 'x'.repeat(1024 * 1024 + 1) }) });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('payload_too_large');
  });

  it('answers JSON 405 for a wrong method and JSON 404 for an unknown auth path', async () => {
    expect((await request(identity.url, 'GET', '/api/v1/auth/login')).status).toBe(405);
    expect((await request(identity.url, 'GET', '/api/v1/auth/nope')).body.code).toBe('not_found');
  });

  it('never answers 5xx to hostile bodies on any endpoint', async () => {
    const huge = 'ü'.repeat(200_000);
    const values: unknown[] = [
      null, true, 0, -1, 1e308, '', ' ', huge, [], ['a@b.co'], {}, { $ne: null }, { toString: 'x' },
      '\u0000', '\ud800', '𝓾𝓷𝓲𝓬𝓸𝓭𝓮@𝓮𝔁𝓪𝓶𝓹𝓵𝓮.com', 'ｅｍａｉｌ@ｅｘａｍｐｌｅ.com', '\u202e@example.com', "' or 1=1 --", 'a@b.co\r\nBcc: x@y.z',
    ];
    const fields = ['email', 'password', 'first_name', 'last_name', 'refresh'];
    const bodies: unknown[] = [null, [], 'string', 42, true, { __proto__: { admin: true } }, JSON.parse('{"__proto__": {"polluted": 1}}')];
    for (const value of values) {
      bodies.push(Object.fromEntries(fields.map((f) => [f, value])));
      for (const field of fields) bodies.push({ ...registration(), refresh: 'x', [field]: value });
    }
    const endpoints = ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/auth/refresh', '/api/v1/auth/logout'];
    const statuses = new Set<number>();
    for (const path of endpoints) {
      for (let i = 0; i < bodies.length; i += 16) {
        const batch = bodies.slice(i, i + 16);
        const results = await Promise.all(batch.map((body) => request(identity.url, 'POST', path, { body, token: session.access })));
        results.forEach((res, j) => {
          if (res.status >= 500) throw new Error(`${path} answered ${res.status} to ${JSON.stringify(batch[j]).slice(0, 200)}`);
          statuses.add(res.status);
        });
      }
    }
    expect([...statuses].every((s) => s < 500)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await request(identity.url, 'GET', '/api/v1/auth/me', { token: session.access })).status).toBe(200);
  });

  it('never answers 5xx to hostile Authorization headers', async () => {
    const headers = ['Bearer', 'Bearer ', 'Bearer a.b.c', 'Bearer ....', `Bearer ${'a'.repeat(8000)}`, 'Basic dXNlcjpwYXNz', 'Bearer e30.e30.', `Bearer ${session.access}x`];
    for (const authorization of headers) {
      const res = await request(identity.url, 'GET', '/api/v1/auth/me', { headers: { authorization } });
      expect(res.status).toBe(401);
    }
  });
});
