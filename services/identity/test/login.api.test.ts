import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { request } from '@taskflow/shared/testing';
import { type IdentityUnderTest, newSession, PASSWORD, registration, type Session, startIdentityUnderTest } from './support';

const LOGIN = '/api/v1/auth/login';
const ME = '/api/v1/auth/me';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('POST /api/v1/auth/login', () => {
  let identity: IdentityUnderTest;
  beforeAll(async () => {
    identity = await startIdentityUnderTest();
  });
  afterAll(() => identity.close());

  const login = (body: unknown) => request(identity.url, 'POST', LOGIN, { body });

  it('answers 200 with an RS256 access token, an opaque refresh token, the token type and lifetime', async () => {
    const body = registration();
    const user = await request(identity.url, 'POST', '/api/v1/auth/register', { body });
    const res = await login({ email: body.email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ access: expect.any(String), refresh: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), token_type: 'Bearer', expires_in: 900 });
    const decoded = jwt.decode(res.body.access, { complete: true });
    expect(decoded?.header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    const claims = decoded?.payload as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: user.body.id, email: body.email, iss: 'taskflow-identity', aud: 'taskflow-api', jti: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('matches the email case-insensitively and ignores surrounding spaces', async () => {
    const body = registration();
    await request(identity.url, 'POST', '/api/v1/auth/register', { body });
    const res = await login({ email: `  ${String(body.email).toUpperCase()} `, password: PASSWORD });
    expect(res.status).toBe(200);
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const body = registration();
    await request(identity.url, 'POST', '/api/v1/auth/register', { body });
    const wrongPassword = await login({ email: body.email, password: 'not-the-password' });
    const unknownEmail = await login({ email: 'nobody.here@example.com', password: PASSWORD });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual(unknownEmail.body);
    expect(wrongPassword.body).toMatchObject({ code: 'invalid_credentials', detail: 'No active account found with the given credentials' });
  });

  it('answers 401, not 500, for an email containing NUL', async () => {
    const res = await login({ email: 'a\u0000@example.com', password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_credentials');
  });

  it('answers 400 listing the missing fields', async () => {
    const res = await login({});
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual({ email: ['This field is required.'], password: ['This field is required.'] });
  });
});

describe('GET /api/v1/auth/me and access-token verification', () => {
  let identity: IdentityUnderTest;
  let session: Session;
  let signingKey: KeyObject;
  let kid: string;

  beforeAll(async () => {
    identity = await startIdentityUnderTest();
    session = await newSession(identity.url);
    const stored = await identity.db('identity.signing_keys').where({ active: true }).first();
    signingKey = createPrivateKey(stored.private_key_pem);
    kid = stored.kid;
  });
  afterAll(() => identity.close());

  const me = (token: string) => request(identity.url, 'GET', ME, { token });
  const claims = () => ({ email: session.email });
  const signWith = (options: jwt.SignOptions, key: KeyObject = signingKey) =>
    jwt.sign(claims(), key, {
      algorithm: 'RS256',
      keyid: kid,
      subject: session.userId,
      issuer: 'taskflow-identity',
      audience: 'taskflow-api',
      expiresIn: 900,
      jwtid: randomUUID(),
      ...options,
    });

  it('answers 200 with the user of a valid access token', async () => {
    const res = await me(session.access);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: session.userId, email: session.email, first_name: 'Ada', last_name: 'Lovelace', date_joined: expect.any(String), email_verified: false });
    expect((await request(identity.url, 'GET', `${ME}/`, { token: session.access })).status).toBe(200);
  });

  it('accepts a token the test signs the way identity does (the check of the cases below)', async () => {
    expect((await me(signWith({}))).status).toBe(200);
  });

  it('answers 401 without a token', async () => {
    const res = await request(identity.url, 'GET', ME);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('answers 401 for a token whose payload was tampered with', async () => {
    const [header, , signature] = session.access.split('.');
    const payload = b64url({ ...(jwt.decode(session.access) as object), sub: randomUUID() });
    const res = await me(`${header}.${payload}.${signature}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_not_valid');
  });

  it('answers 401 for an unsigned token (alg none)', async () => {
    const payload = b64url({ ...(jwt.decode(session.access) as object) });
    expect((await me(`${b64url({ alg: 'none', typ: 'JWT', kid })}.${payload}.`)).status).toBe(401);
    expect((await me(`${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`)).status).toBe(401);
  });

  it('answers 401 for an HS256 token signed with the public key as the secret', async () => {
    const jwks = await request(identity.url, 'GET', '/api/v1/auth/jwks');
    const publicPem = createPublicKey({ key: jwks.body.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const unsigned = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url(jwt.decode(session.access))}`;
    const signature = createHmac('sha256', publicPem).update(unsigned).digest('base64url');
    expect((await me(`${unsigned}.${signature}`)).status).toBe(401);
  });

  it('answers 401 for an expired token', async () => {
    const expired = signWith({ expiresIn: -10 });
    expect((await me(expired)).status).toBe(401);
  });

  it('answers 401 for a token for another audience or from another issuer', async () => {
    expect((await me(signWith({ audience: 'another-api' }))).status).toBe(401);
    expect((await me(signWith({ issuer: 'someone-else' }))).status).toBe(401);
  });

  it('answers 401 for a token with an unknown kid, or signed by another key under the right kid', async () => {
    expect((await me(signWith({ keyid: 'unknown-kid' }))).status).toBe(401);
    const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect((await me(signWith({}, otherKey))).status).toBe(401);
  });

  it('answers 401 for a refresh token used as an access token', async () => {
    const res = await me(session.refresh);
    expect(res.status).toBe(401);
  });

  it('answers 401 for a valid token of a user that no longer exists', async () => {
    const ghost = await newSession(identity.url);
    await identity.db('identity.users').where({ id: ghost.userId }).delete();
    const res = await me(ghost.access);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('user_not_found');
  });

  it('answers 401, never 500, for a token whose subject is not a UUID', async () => {
    expect((await me(signWith({ subject: 'not-a-uuid' }))).status).toBe(401);
  });
});
