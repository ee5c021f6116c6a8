// Invites are only for verified addresses: tenancy learns verification from identity's user events (the
// profile replica); an address it does not know as verified sees no invites and cannot accept one.
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { EVENTS_EXCHANGE } from '@taskflow/shared';
import { tmpdir } from 'node:os';
import { createTestDatabase, eventually, type TestDatabase } from '@taskflow/shared/testing';
import { startIdentity } from '../../identity/test/start';
import { type Harness, startHarness, type TestUser } from './support';

describe('invites for verified addresses only', () => {
  let h: Harness;
  let identity: { url: string; close(): Promise<void> };
  let identityDb: TestDatabase;
  beforeAll(async () => {
    // A real identity: it does not know the harness's test-key tokens (401), which is its answer for an
    // account it cannot vouch for.
    identityDb = await createTestDatabase('tf_tenancy_identity');
    identity = await startIdentity({ databaseUrl: identityDb.url, mailOutboxDir: tmpdir() });
    h = await startHarness({ identityUrl: identity.url });
  });
  afterAll(async () => {
    await h.close();
    await identity.close();
    await identityDb.drop();
  });

  const accept = (token: string, user: TestUser) => h.call('POST', `/api/v1/invites/accept/${token}/`, user);
  async function publishUpdated(user: TestUser, version: number, emailVerified: boolean): Promise<void> {
    const connection = await amqplib.connect(h.vhost.url);
    const channel = await connection.createConfirmChannel();
    const envelope = {
      id: randomUUID(),
      type: 'identity.user.updated',
      version: 1,
      occurred_at: new Date().toISOString(),
      organization_id: null,
      actor_id: user.id,
      actor_email: user.email,
      request_id: null,
      data: { user: { id: user.id, email: user.email, first_name: 'Una', last_name: 'V' }, version, email_verified: emailVerified },
    };
    channel.publish(EVENTS_EXCHANGE, envelope.type, Buffer.from(JSON.stringify(envelope)), { messageId: envelope.id, persistent: true });
    await channel.waitForConfirms();
    await connection.close();
  }

  it('refuses the addressee with 400 "Email not verified" and shows them nothing until identity says verified', async () => {
    const owner = h.user();
    const org = await h.createOrg(owner);
    const unverified = h.user(`Una.${randomUUID().slice(0, 6)}@Example.com`, { verified: false });
    const sent = await h.invite(owner, org.id, unverified.email.toLowerCase());
    expect(sent.status).toBe(201);
    expect((await h.call('GET', '/api/v1/invites/mine/', unverified)).body).toEqual({ results: [], next: null });
    const refused = await accept(sent.body.token, unverified);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'email_not_verified', detail: 'Email not verified' });
    expect(await h.db('invites').where({ id: sent.body.id }).first()).toMatchObject({ status: 'pending' });
    expect(await h.db('memberships').where({ organization_id: org.id, user_id: unverified.id })).toEqual([]);

    await publishUpdated(unverified, 1, true);
    await eventually(async () => (await h.db('user_profiles').where({ user_id: unverified.id }).first())?.email_verified === true, 10_000);
    // An older event without the flag never undoes it.
    await publishUpdated(unverified, 0, false);
    const mine = await h.call('GET', '/api/v1/invites/mine/', unverified);
    expect(mine.body.results).toEqual([expect.objectContaining({ id: sent.body.id, organization_name: org.name })]);
    expect((await accept(sent.body.token, unverified)).status).toBe(200);
  });

  it('checks the invite itself first: an unverified caller holding another address\'s invite gets "Invite email mismatch"', async () => {
    const owner = h.user();
    const org = await h.createOrg(owner);
    const sent = await h.invite(owner, org.id, `someone.${randomUUID().slice(0, 6)}@example.com`);
    const outsider = h.user(undefined, { verified: false });
    expect((await accept(sent.body.token, outsider)).body.detail).toBe('Invite email mismatch');
    expect((await accept('no-such-token', outsider)).body.detail).toBe('Invalid invite');
  });
});

describe('invites when identity cannot answer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  const accept = (token: string, user: TestUser) => h.call('POST', `/api/v1/invites/accept/${token}/`, user);

  it('answers 503 rather than guessing when neither the replica nor identity can say', async () => {
    const owner = h.user();
    const org = await h.createOrg(owner);
    const unverified = h.user(undefined, { verified: false });
    const sent = await h.invite(owner, org.id, unverified.email);
    // The harness points IDENTITY_URL at a closed port; the caller's token is only readable by identity.
    const res = await accept(sent.body.token, unverified);
    expect(res.status).toBe(503);
    expect(await h.db('invites').where({ id: sent.body.id }).first()).toMatchObject({ status: 'pending' });
  });
});
