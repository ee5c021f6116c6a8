import { request } from '@taskflow/shared/testing';
import { deleteExpiredRefreshTokens } from '../src/db/refresh-tokens';
import { hashRefreshToken } from '../src/domain/tokens';
import { type IdentityUnderTest, newSession, startIdentityUnderTest } from './support';

const REFRESH = '/api/v1/auth/refresh';
const LOGOUT = '/api/v1/auth/logout';

describe('refresh-token rotation and logout', () => {
  let identity: IdentityUnderTest;
  beforeAll(async () => {
    identity = await startIdentityUnderTest();
  });
  afterAll(() => identity.close());

  const refresh = (token: unknown) => request(identity.url, 'POST', REFRESH, { body: { refresh: token } });
  const logout = (token: unknown) => request(identity.url, 'POST', LOGOUT, { body: { refresh: token } });

  it('exchanges a refresh token for a new working pair and stores only its hash', async () => {
    const session = await newSession(identity.url);
    const res = await refresh(session.refresh);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ access: expect.any(String), refresh: expect.any(String), token_type: 'Bearer', expires_in: 900 });
    expect(res.body.refresh).not.toBe(session.refresh);
    expect((await request(identity.url, 'GET', '/api/v1/auth/me', { token: res.body.access })).status).toBe(200);

    const rows = await identity.db('identity.refresh_tokens').where({ user_id: session.userId }).orderBy('created_at');
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.family_id)).size).toBe(1);
    expect(rows.map((r) => Buffer.from(r.token_hash).toString('hex'))).toEqual(
      [session.refresh, res.body.refresh].map((t) => hashRefreshToken(t).toString('hex')),
    );
    expect(JSON.stringify(rows)).not.toContain(session.refresh);
  });

  it('spends a refresh token on use: its successor works and the token itself is refused afterwards', async () => {
    const session = await newSession(identity.url);
    const next = await refresh(session.refresh);
    expect(next.status).toBe(200);
    expect((await refresh(next.body.refresh)).status).toBe(200);
    const again = await refresh(session.refresh);
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('token_not_valid');
  });

  it('revokes the whole family when a spent refresh token is presented again', async () => {
    const session = await newSession(identity.url);
    const second = await refresh(session.refresh);
    const third = await refresh(second.body.refresh);
    expect(third.status).toBe(200);

    const reuse = await refresh(session.refresh);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('token_not_valid');
    // The newest token of the family, never used, died with it.
    expect((await refresh(third.body.refresh)).status).toBe(401);
    // Another login of the same user is another family and keeps working.
    const unrelated = await newSession(identity.url);
    expect((await refresh(unrelated.refresh)).status).toBe(200);
  });

  it('answers exactly one of several concurrent refreshes of one token with 200', async () => {
    const session = await newSession(identity.url);
    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(session.refresh)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
  });

  it('treats the losers of a concurrent refresh as a replay, so the session ends', async () => {
    const session = await newSession(identity.url);
    const results = await Promise.all([refresh(session.refresh), refresh(session.refresh)]);
    const winner = results.find((r) => r.status === 200)!;
    expect((await refresh(winner.body.refresh)).status).toBe(401);
  });

  it('answers 401 for an unknown, an expired and a malformed refresh token', async () => {
    expect((await refresh('A'.repeat(43))).status).toBe(401);
    expect((await refresh('not a token at all 🙂')).status).toBe(401);
    const session = await newSession(identity.url);
    await identity.db('identity.refresh_tokens').where({ user_id: session.userId }).update({ expires_at: identity.db.raw("now() - interval '1 second'") });
    const expired = await refresh(session.refresh);
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('token_not_valid');
  });

  it('answers 400 when the refresh token is missing or not a string', async () => {
    expect((await request(identity.url, 'POST', REFRESH, { body: {} })).body.errors).toEqual({ refresh: ['This field is required.'] });
    expect((await refresh(42)).status).toBe(400);
    expect((await refresh('')).status).toBe(400);
  });

  it('logs out with 204, after which that refresh token and every token rotated from it are dead', async () => {
    const session = await newSession(identity.url);
    const second = await refresh(session.refresh);
    const third = await refresh(second.body.refresh);

    const res = await logout(second.body.refresh);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect((await refresh(third.body.refresh)).status).toBe(401);
    expect((await refresh(second.body.refresh)).status).toBe(401);
  });

  it('logs out the newest token of a session, and another session of the same user keeps working', async () => {
    const session = await newSession(identity.url);
    const other = await request(identity.url, 'POST', '/api/v1/auth/login', { body: { email: session.email, password: 'violet-harbor-42' } });
    expect((await logout(session.refresh)).status).toBe(204);
    expect((await refresh(session.refresh)).status).toBe(401);
    expect((await refresh(other.body.refresh)).status).toBe(200);
  });

  it('answers 204 for an unknown token without touching any session', async () => {
    const session = await newSession(identity.url);
    expect((await logout('A'.repeat(43))).status).toBe(204);
    expect((await refresh(session.refresh)).status).toBe(200);
  });

  it('logs out without an access token (the refresh token is the credential), and with one too', async () => {
    const withoutAccess = await newSession(identity.url);
    expect((await logout(withoutAccess.refresh)).status).toBe(204);
    expect((await refresh(withoutAccess.refresh)).status).toBe(401);
    const withAccess = await newSession(identity.url);
    const res = await request(identity.url, 'POST', `${LOGOUT}/`, { body: { refresh: withAccess.refresh }, token: withAccess.access });
    expect(res.status).toBe(204);
    expect((await refresh(withAccess.refresh)).status).toBe(401);
  });

  it('answers 400 when the refresh token is missing from a logout', async () => {
    const missing = await request(identity.url, 'POST', LOGOUT, { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual({ refresh: ['This field is required.'] });
  });

  it('deletes expired refresh tokens and keeps live ones', async () => {
    const session = await newSession(identity.url);
    const other = await newSession(identity.url);
    await identity.db('identity.refresh_tokens').where({ user_id: session.userId }).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await deleteExpiredRefreshTokens(identity.db)).toBeGreaterThanOrEqual(1);
    expect(await identity.db('identity.refresh_tokens').where({ user_id: session.userId })).toEqual([]);
    expect((await refresh(other.refresh)).status).toBe(200);
  });
});
