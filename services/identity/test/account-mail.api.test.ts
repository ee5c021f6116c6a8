// Email verification, password reset and canonical addresses, through identity's HTTP API with its real
// mailer writing development mail; links are read from the mail, never from the database.
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { canonicalEmail, createDb, migrate } from '@taskflow/shared';
import { createTestDatabase, createTestVhost, eventually, readDevMail, request, type TestVhost } from '@taskflow/shared/testing';
import { migrations } from '../src/db/migrations';
import { hashPassword } from '../src/domain/passwords';
import { type IdentityUnderTest, mailedToken, PASSWORD, registration, startIdentityUnderTest, uniqueEmail } from './support';

describe('email verification and password reset', () => {
  let identity: IdentityUnderTest;
  let vhost: TestVhost;
  let connection: ChannelModel;
  let channel: Channel;
  beforeAll(async () => {
    vhost = await createTestVhost('identity_mail');
    identity = await startIdentityUnderTest({ amqpUrl: vhost.url });
    connection = await amqplib.connect(vhost.url);
    channel = await connection.createChannel();
  });
  afterAll(async () => {
    await connection.close();
    await identity.close();
    await vhost.drop();
  });

  const post = (path: string, body?: unknown, token?: string) => request(identity.url, 'POST', path, { body, token });
  const register = async (overrides: Record<string, unknown> = {}) => {
    const body = registration(overrides);
    const res = await post('/api/v1/auth/register/', body);
    expect(res.status).toBe(201);
    return { id: res.body.id as string, email: String(body.email), body: res.body };
  };
  const login = (email: string, password = PASSWORD) => post('/api/v1/auth/login/', { email, password });
  /** Events on tenancy's queue (bound to identity.user.*), until one matches. */
  const nextEvent = async (match: (e: any) => boolean) =>
    eventually(async () => {
      for (let m = await channel.get('tenancy', { noAck: true }); m; m = await channel.get('tenancy', { noAck: true })) {
        const event = JSON.parse(m.content.toString('utf8'));
        if (match(event)) return event;
      }
      return undefined;
    }, 10_000);

  describe('verification', () => {
    it('mails a link at registration that verifies the address once, and tells the other services', async () => {
      const user = await register();
      expect(user.body.email_verified).toBe(false);
      const token = await mailedToken(identity.mailDir, user.email, 'verify-email');
      const stored = await identity.db('identity.account_tokens').where({ user_id: user.id });
      expect(stored).toHaveLength(1);
      expect(JSON.stringify(stored)).not.toContain(token);
      expect(Number(stored[0].expires_at - stored[0].created_at) / 3600_000).toBeCloseTo(48, 3);

      const verified = await post(`/api/v1/auth/verify-email/${token}/`);
      expect(verified.status).toBe(200);
      expect(verified.body).toEqual({ ...user.body, email_verified: true });
      const access = (await login(user.email)).body.access;
      expect((await request(identity.url, 'GET', '/api/v1/auth/me/', { token: access })).body.email_verified).toBe(true);

      const again = await post(`/api/v1/auth/verify-email/${token}/`);
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ code: 'invalid_verification_token', detail: 'Invalid verification link' });

      const event = await nextEvent((e) => e.type === 'identity.user.updated' && e.data.user.id === user.id);
      expect(event.data).toEqual({ user: { id: user.id, email: user.email, first_name: 'Ada', last_name: 'Lovelace' }, version: 1, email_verified: true });
      expect(JSON.stringify(event)).not.toContain(token);
    });

    it('refuses an unknown link and one past its 48 hours with clear 400s', async () => {
      const unknown = await post('/api/v1/auth/verify-email/not-a-real-token/');
      expect(unknown.status).toBe(400);
      expect(unknown.body.code).toBe('invalid_verification_token');
      const user = await register();
      const token = await mailedToken(identity.mailDir, user.email, 'verify-email');
      await identity.db('identity.account_tokens').where({ user_id: user.id }).update({ expires_at: identity.db.raw("now() - interval '1 second'") });
      const expired = await post(`/api/v1/auth/verify-email/${token}/`);
      expect(expired.status).toBe(400);
      expect(expired.body).toMatchObject({ code: 'verification_token_expired', detail: 'Verification link expired' });
      expect((await identity.db('identity.users').where({ id: user.id }).first()).email_verified).toBe(false);
    });

    it('resends a new link (202, token needed) that replaces the old one', async () => {
      const user = await register();
      const first = await mailedToken(identity.mailDir, user.email, 'verify-email');
      expect((await post('/api/v1/auth/verify-email/resend/')).status).toBe(401);
      const access = (await login(user.email)).body.access;
      expect((await post('/api/v1/auth/verify-email/resend/', undefined, access)).status).toBe(202);
      const second = await eventually(async () => {
        const t = await mailedToken(identity.mailDir, user.email, 'verify-email');
        return t !== first && t;
      });
      expect((await post(`/api/v1/auth/verify-email/${first}/`)).status).toBe(400);
      expect((await post(`/api/v1/auth/verify-email/${second}/`)).status).toBe(200);
    });
  });

  describe('password reset', () => {
    const mailsTo = async (email: string) => (await readDevMail(identity.mailDir)).filter((m) => m.to.toLowerCase() === email.toLowerCase());

    it('answers 202 for an unknown address and mails nothing, the same as for a known one', async () => {
      const user = await register();
      await mailedToken(identity.mailDir, user.email, 'verify-email');
      const known = await post('/api/v1/auth/password-reset/', { email: user.email.toUpperCase() });
      const stranger = uniqueEmail('nobody');
      const unknown = await post('/api/v1/auth/password-reset/', { email: stranger });
      expect([known.status, unknown.status]).toEqual([202, 202]);
      expect(unknown.body).toEqual(known.body);
      await mailedToken(identity.mailDir, user.email, 'password-reset');
      await eventually(async () => (await identity.db('identity.mail_outbox').whereNull('sent_at')).length === 0);
      expect(await mailsTo(stranger)).toEqual([]);
      expect(await identity.db('identity.mail_outbox').where({ to_address: stranger })).toEqual([]);
    });

    it('sets the new password with a single-use link, ends every session, and verifies the address', async () => {
      const user = await register();
      const sessions = [(await login(user.email)).body.refresh, (await login(user.email)).body.refresh];
      expect((await post('/api/v1/auth/password-reset/', { email: user.email })).status).toBe(202);
      const token = await mailedToken(identity.mailDir, user.email, 'password-reset');
      const row = await identity.db('identity.account_tokens').where({ user_id: user.id, purpose: 'reset_password' }).first();
      expect(Number(row.expires_at - row.created_at) / 3600_000).toBeCloseTo(1, 3);

      const weak = await post(`/api/v1/auth/password-reset/${token}/`, { password: 'password' });
      expect(weak.status).toBe(400);
      expect(weak.body.errors.password).toBeDefined();
      const same = await post(`/api/v1/auth/password-reset/${token}/`, { password: user.email });
      expect(same.status).toBe(400);

      const done = await post(`/api/v1/auth/password-reset/${token}/`, { password: 'brand-new-secret-77' });
      expect(done.status).toBe(204);
      for (const refresh of sessions) expect((await post('/api/v1/auth/refresh/', { refresh })).status).toBe(401);
      expect((await login(user.email)).status).toBe(401);
      expect((await login(user.email, 'brand-new-secret-77')).status).toBe(200);
      expect((await identity.db('identity.users').where({ id: user.id }).first()).email_verified).toBe(true);

      const reused = await post(`/api/v1/auth/password-reset/${token}/`, { password: 'another-new-secret-88' });
      expect(reused.status).toBe(400);
      expect(reused.body).toMatchObject({ code: 'invalid_reset_token', detail: 'Invalid password reset link' });
    });

    it('refuses a link past its hour, and an older link once a newer one was mailed', async () => {
      const user = await register();
      await post('/api/v1/auth/password-reset/', { email: user.email });
      const first = await mailedToken(identity.mailDir, user.email, 'password-reset');
      await post('/api/v1/auth/password-reset/', { email: user.email });
      const second = await eventually(async () => {
        const t = await mailedToken(identity.mailDir, user.email, 'password-reset');
        return t !== first && t;
      });
      expect((await post(`/api/v1/auth/password-reset/${first}/`, { password: 'brand-new-secret-77' })).body.code).toBe('invalid_reset_token');
      await identity.db('identity.account_tokens').where({ user_id: user.id, purpose: 'reset_password' }).update({ expires_at: identity.db.raw("now() - interval '1 second'") });
      const expired = await post(`/api/v1/auth/password-reset/${second}/`, { password: 'brand-new-secret-77' });
      expect(expired.status).toBe(400);
      expect(expired.body).toMatchObject({ code: 'reset_token_expired', detail: 'Password reset link expired' });
      expect((await login(user.email)).status).toBe(200);
    });
  });

  describe('canonical addresses', () => {
    it('finds an account by any form of its address equal in the canonical form, where lower() would not', async () => {
      // Registration accepts ASCII addresses only today; an account of an earlier import may hold any.
      const email = `İnci.${Math.random().toString(36).slice(2, 8)}@Example.com`;
      await identity.db('identity.users').insert({
        email,
        email_canonical: canonicalEmail(email),
        password_hash: await hashPassword(PASSWORD, 1024),
        first_name: 'Inci',
        last_name: 'K',
      });
      // JavaScript lower-cases İ to i + U+0307; PostgreSQL's lower() does not agree.
      expect((await login(email.toLowerCase())).status).toBe(200);
      expect((await login(email.toUpperCase().normalize('NFD'))).status).toBe(200);
      const again = await post('/api/v1/auth/password-reset/', { email: email.toLowerCase() });
      expect(again.status).toBe(202);
      await mailedToken(identity.mailDir, email, 'password-reset');
    });

    it('fills the canonical column of accounts that existed before it', async () => {
      const database = await createTestDatabase('identity_migrate');
      const db = createDb({ url: database.url, schema: 'identity' });
      try {
        const before = migrations.findIndex((m) => m.name.startsWith('003_'));
        await migrate(db, 'identity', migrations.slice(0, before));
        await db('identity.users').insert({ email: ' Öl.Eins@Example.COM', password_hash: 'x', first_name: 'A', last_name: 'B' });
        await migrate(db, 'identity', migrations);
        expect(await db('identity.users').select('email_canonical', 'email_verified', 'version')).toEqual([
          { email_canonical: 'öl.eins@example.com', email_verified: false, version: 0 },
        ]);
      } finally {
        await db.destroy();
        await database.drop();
      }
    });
  });
});
