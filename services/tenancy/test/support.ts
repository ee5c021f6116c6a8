// One tenancy per test file on its own database and vhost, with helpers to make users, orgs and members.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqplib, { type ChannelModel } from 'amqplib';
import { canonicalEmail, createDb, type EventEnvelope, type Knex, type Role } from '@taskflow/shared';
import {
  createTestDatabase,
  createTestTokens,
  createTestVhost,
  type JsonResponse,
  request,
  type TestDatabase,
  type TestTokens,
  type TestVhost,
} from '@taskflow/shared/testing';
import { type StartTenancyOptions, startTenancy } from './start';

export const SERVICE_TOKEN = 'test-service-token-0123456789';

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/** An organization with its people, as `organization()` makes it. */
export interface TestOrganization {
  org: { id: string; name: string };
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
  outsider: TestUser;
  as: Record<Role, TestUser>;
}

export interface Harness {
  url: string;
  db: Knex;
  tokens: TestTokens;
  database: TestDatabase;
  vhost: TestVhost;
  mailDir: string;
  /**
   * A user with a token signed by the test key. Verified unless `{ verified: false }`: the harness stands
   * in for identity's events and records the verified address in the profile replica before the user's
   * first request.
   */
  user(email?: string, options?: { verified?: boolean }): TestUser;
  call<T = any>(method: string, path: string, user?: TestUser, options?: { body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<JsonResponse<T>>;
  createOrg(owner: TestUser, name?: string): Promise<{ id: string; name: string }>;
  invite(actor: TestUser, organization: string, email: string, role?: Role): Promise<JsonResponse>;
  /** Invites `user` with `role` (sent by `owner`) and accepts. */
  addMember(owner: TestUser, organization: string, user: TestUser, role: Role): Promise<void>;
  /** A fresh organization with an owner, an admin and a member (also by role in `as`), plus an outsider. */
  organization(): Promise<TestOrganization>;
  /** A snapshot of the rows of every tenancy table, to assert that a refused request changed nothing. */
  snapshot(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<StartTenancyOptions> = {}): Promise<Harness> {
  const database = await createTestDatabase('tf_tenancy');
  const vhost = await createTestVhost('tf_tenancy');
  const tokens = createTestTokens();
  const mailDir = await mkdtemp(path.join(tmpdir(), 'tenancy-mail-'));
  const tenancy = await startTenancy({
    databaseUrl: database.url,
    amqpUrl: vhost.url,
    verifier: tokens.verifier,
    serviceToken: SERVICE_TOKEN,
    mailOutboxDir: mailDir,
    // Nothing listens there: no test reaches another engineer's identity by accident.
    identityUrl: 'http://127.0.0.1:9',
    ...extra,
  });
  const db = createDb({ url: database.url, schema: 'tenancy', poolMax: 3 });

  const toVerify: TestUser[] = [];
  // One chain, so concurrent calls all wait until every user created so far is recorded.
  let recorded = Promise.resolve();
  const recordVerified = () =>
    (recorded = recorded.then(async () => {
      for (const u of toVerify.splice(0)) {
        await db('user_profiles')
          .insert({ user_id: u.id, email: u.email, email_canonical: canonicalEmail(u.email), version: -1, email_verified: true })
          .onConflict('user_id')
          .merge({ email_verified: true });
      }
    }));
  const call: Harness['call'] = async (method, p, user, options = {}) => {
    await recordVerified();
    return request(tenancy.url, method, p, { ...options, token: user?.token });
  };
  const user: Harness['user'] = (email, { verified = true } = {}) => {
    const id = randomUUID();
    const address = email ?? `user-${id.slice(0, 8)}@example.com`;
    const created = { id, email: address, token: tokens.sign({ id, email: address }) };
    if (verified) toVerify.push(created);
    return created;
  };
  const invite: Harness['invite'] = (actor, organization, email, role) =>
    call('POST', '/api/v1/invites/', actor, { body: { organization, email, ...(role ? { role } : {}) } });
  const createOrg: Harness['createOrg'] = async (owner, name = `Org ${randomUUID().slice(0, 6)}`) => {
    const res = await call('POST', '/api/v1/organizations/', owner, { body: { name } });
    if (res.status !== 201) throw new Error(`create org: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const addMember: Harness['addMember'] = async (owner, organization, member, role) => {
    const sent = await invite(owner, organization, member.email, role);
    if (sent.status !== 201) throw new Error(`invite: ${sent.status} ${JSON.stringify(sent.body)}`);
    const accepted = await call('POST', `/api/v1/invites/accept/${sent.body.token}/`, member);
    if (accepted.status !== 200) throw new Error(`accept: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  };

  return {
    url: tenancy.url,
    db,
    tokens,
    database,
    vhost,
    mailDir,
    user,
    call,
    invite,
    createOrg,
    addMember,
    async organization() {
      const [owner, admin, member, outsider] = [user(), user(), user(), user()];
      const org = await createOrg(owner);
      await addMember(owner, org.id, admin, 'admin');
      await addMember(owner, org.id, member, 'member');
      return { org, owner, admin, member, outsider, as: { owner, admin, member } };
    },
    async snapshot() {
      await recordVerified();
      const tables = ['organizations', 'memberships', 'invites', 'user_profiles'];
      const result: Record<string, unknown[]> = {};
      const order: Record<string, string[]> = { memberships: ['organization_id', 'user_id'], user_profiles: ['user_id'] };
      for (const t of tables) result[t] = await db(t).select('*').orderBy(order[t] ?? ['id']);
      // Only what a request writes: the mailer and the relay update these rows on their own.
      result.mail_outbox = await db('mail_outbox').select('id', 'to_address', 'subject', 'created_at').orderBy('id');
      result.outbox = await db('outbox').select('id').orderBy('seq');
      return result;
    },
    async close() {
      await tenancy.close();
      await db.destroy();
      await database.drop();
      await vhost.drop();
      await rm(mailDir, { recursive: true, force: true });
    },
  };
}

/** Collects every event of the test vhost from the `audit` queue (it is bound to `#`). */
export async function collectEvents(vhostUrl: string): Promise<{ events: EventEnvelope[]; close(): Promise<void> }> {
  const connection: ChannelModel = await amqplib.connect(vhostUrl);
  const channel = await connection.createChannel();
  const events: EventEnvelope[] = [];
  await channel.consume(
    'audit',
    (msg) => {
      if (!msg) return;
      events.push(JSON.parse(msg.content.toString('utf8')) as EventEnvelope);
      channel.ack(msg);
    },
    { noAck: false },
  );
  return {
    events,
    async close() {
      await connection.close();
    },
  };
}
