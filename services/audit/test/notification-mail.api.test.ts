// invite.received (to a verified address, also when it is verified after the invite) and the mail of
// task.assigned and invite.received: preferences, one per kind per task per minute, exactly once with two replicas.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, type EventEnvelope, type Knex, type NewEvent, type RunningService } from '@taskflow/shared';
import { createTestDatabase, createTestTokens, createTestVhost, eventually, readDevMail, request, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { AUDIT_SCHEMA } from '../src/db/migrations';
import { startAudit } from './start';
import { envelope, envelopeOf, events, newUser, publishEnvelopes, startTenancyStandIn, summary, type TestUser } from './support';

const serviceToken = 'audit-notification-mail-test-service-token';

interface Notification {
  id: string;
  kind: string;
  actor: string | null;
  target: { type: string; id: string };
  message: string;
}

const assign = (org: string, actor: TestUser, to: TestUser | null, task: { id: string; title: string }, from: TestUser | null = null): NewEvent<'work.task.updated'> => ({
  type: 'work.task.updated',
  organization_id: org,
  actor,
  data: { task: { ...task, project_id: randomUUID(), assigned_to: to?.id ?? null }, changes: { assigned_to: [from?.id ?? null, to?.id ?? null] } },
});

describe('invite.received and notification mail', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let tenancy: Awaited<ReturnType<typeof startTenancyStandIn>>;
  let audit: RunningService;
  let second: RunningService;
  let db: Knex;
  let mailDir: string;
  const tokens = createTestTokens();

  const list = async (user: TestUser) => {
    const res = await request<{ results: Notification[] }>(audit.url, 'GET', '/api/v1/notifications/', { token: tokens.sign(user) });
    expect(res.status).toBe(200);
    return res.body.results;
  };
  const outboxTo = async (user: TestUser) => db('mail_outbox').where('to_address', user.email).orderBy('created_at').select('subject', 'sent_at');
  const mailsTo = async (user: TestUser) => (await readDevMail(mailDir)).filter((m) => m.to.toLowerCase() === user.email.toLowerCase());

  /** Publishes the envelopes and waits until audit has applied every one (the inbox holds each applied message id). */
  async function publishRaw(envelopes: EventEnvelope[], times = 1): Promise<void> {
    await publishEnvelopes(vhost.url, envelopes, times);
    const ids = envelopes.map((e) => e.id);
    await eventually(async () => Number((await db('processed_messages').whereIn('message_id', ids).count({ n: '*' }).first())!.n) === ids.length, 10000);
  }
  const publish = async (...list: NewEvent[]): Promise<EventEnvelope[]> => {
    const envelopes = list.map((event) => envelopeOf(event));
    await publishRaw(envelopes);
    return envelopes;
  };
  /** Identity's event for a user, with their address verified or not. */
  const registered = (user: TestUser, verified: boolean, email = user.email) =>
    envelope('identity.user.registered', null, { user: { ...summary(user), email }, date_joined: new Date().toISOString(), email_verified: verified }, { actor: user });
  const updated = (user: TestUser, version: number, verified: boolean) =>
    envelope('identity.user.updated', null, { user: summary(user), version, email_verified: verified }, { actor: user });

  async function organization(owner: TestUser, ...members: TestUser[]): Promise<string> {
    const org = randomUUID();
    await publish(events.membershipAdded(org, owner, 'owner', 1, owner), ...members.map((m) => events.membershipAdded(org, m, 'member', 1, owner)));
    return org;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    tenancy = await startTenancyStandIn(serviceToken);
    mailDir = await mkdtemp(path.join(os.tmpdir(), 'audit-mail-'));
    const env = { MAIL_OUTBOX_DIR: mailDir };
    audit = await startAudit({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken, env });
    // A second replica on the same database and queue: every event must still be applied, and mailed, once.
    second = await startAudit({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken, env });
    db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 2 });
  });

  afterAll(async () => {
    await second?.close();
    await audit?.close();
    await db?.destroy();
    await tenancy?.close();
    await database?.drop();
    await vhost?.drop();
    if (mailDir) await rm(mailDir, { recursive: true, force: true });
  });

  describe('invite.received', () => {
    it('tells the user whose verified address is invited (compared in canonical form), and mails them once', async () => {
      const [owner, invitee] = [newUser('owner'), newUser('invitee')];
      await publishRaw([registered(invitee, true)]);
      const org = await organization(owner);
      const [sent] = await publish(events.inviteSent(org, `  ${invitee.email.toUpperCase()} `, owner));
      const invite = (sent as EventEnvelope<'tenancy.invite.sent'>).data.invite;

      expect((await list(invitee)).map((n) => [n.kind, n.actor, n.target, n.message])).toEqual([
        ['invite.received', owner.id, { type: 'invite', id: invite.id }, 'Invited you to Org'],
      ]);
      expect(await list(owner)).toEqual([]);
      const [mail] = await eventually(async () => {
        const mails = await mailsTo(invitee);
        return mails.length > 0 ? mails : undefined;
      }, 10000);
      expect(mail!.subject).toBe('You are invited to an organization on TaskFlow');
      expect(mail!.text).toContain(`${owner.email}: Invited you to Org`);
      expect(await outboxTo(invitee)).toHaveLength(1);
    });

    it('tells nobody when the address belongs to no account, or to one whose address is not verified', async () => {
      const [owner, unverified] = [newUser('owner'), newUser('unverified')];
      await publishRaw([registered(unverified, false)]);
      const org = await organization(owner);
      await publish(events.inviteSent(org, unverified.email, owner), events.inviteSent(org, 'nobody@example.com', owner));
      expect(await list(unverified)).toEqual([]);
      expect(await outboxTo(unverified)).toEqual([]);
      expect(Number((await db('notifications').where({ kind: 'invite.received', organization_id: org }).count({ n: '*' }).first())!.n)).toBe(0);
    });

    it('tells a user who verifies the address after the invite was sent, once, and not of revoked or expired invites', async () => {
      const [owner, late] = [newUser('owner'), newUser('late')];
      const org = await organization(owner);
      const [kept, revoked] = await publish(events.inviteSent(org, late.email, owner), events.inviteSent(randomUUID(), late.email, owner));
      const revokedData = (revoked as EventEnvelope<'tenancy.invite.sent'>).data;
      await publish({ type: 'tenancy.invite.revoked', organization_id: revoked!.organization_id, actor: owner, data: revokedData });
      const expired = events.inviteSent(org, late.email, owner);
      expired.data.invite.expires_at = new Date(Date.now() - 1000).toISOString();
      await publish(expired);
      expect(await list(late)).toEqual([]);

      await publishRaw([registered(late, false)]);
      expect(await list(late)).toEqual([]);
      await publishRaw([updated(late, 1, true)]);
      const keptInvite = (kept as EventEnvelope<'tenancy.invite.sent'>).data.invite;
      expect((await list(late)).map((n) => [n.kind, n.target.id])).toEqual([['invite.received', keptInvite.id]]);
      // Identity says so again (a later update): nothing more.
      await publishRaw([updated(late, 2, true)]);
      expect(await list(late)).toHaveLength(1);
      expect(await outboxTo(late)).toHaveLength(1);
    });

    it('reaches an invitee who once left the organization (the only kind that does)', async () => {
      const [owner, returning] = [newUser('owner'), newUser('returning')];
      await publishRaw([registered(returning, true)]);
      const org = await organization(owner, returning);
      await publish(events.membershipRemoved(org, returning, 'member', 2, returning));
      await publish(events.inviteSent(org, returning.email, owner));
      expect((await list(returning)).map((n) => n.kind)).toEqual(['invite.received']);
    });
  });

  describe('task.assigned mail', () => {
    it('mails the assignee at their verified address, never the actor, and nothing for other kinds', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      await publishRaw([registered(owner, true), registered(grace, true)]);
      const org = await organization(owner, grace);
      const task = { id: randomUUID(), title: 'Write\r\nBcc: evil@example.com' };
      await publish(assign(org, owner, grace, task));
      await publish({ type: 'work.task.updated', organization_id: org, actor: owner, data: { task: { ...task, project_id: randomUUID(), assigned_to: grace.id }, changes: { status: ['todo', 'done'] } } });

      const [mail] = await eventually(async () => {
        const mails = await mailsTo(grace);
        return mails.length > 0 ? mails : undefined;
      }, 10000);
      expect(mail!.subject).toBe('A task was assigned to you on TaskFlow');
      expect(mail!.text).toContain(`${owner.email}: Assigned you task 'Write Bcc: evil@example.com'`);
      expect(mail!.headers.has('bcc')).toBe(false);
      expect((await list(grace)).map((n) => n.kind)).toEqual(['task.changed', 'task.assigned']);
      expect(await outboxTo(grace)).toHaveLength(1);
      expect(await outboxTo(owner)).toEqual([]);
    });

    it('mails at most once per task per minute, but each task once', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      await publishRaw([registered(grace, true)]);
      const org = await organization(owner, grace);
      const task = { id: randomUUID(), title: 'Bounce' };
      await publish(assign(org, owner, grace, task));
      await publish(assign(org, owner, null, task, grace));
      await publish(assign(org, owner, grace, task));
      await publish(assign(org, owner, grace, { id: randomUUID(), title: 'Other' }));

      expect((await list(grace)).map((n) => n.kind)).toEqual(['task.assigned', 'task.assigned', 'task.unassigned', 'task.assigned']);
      expect(await outboxTo(grace)).toHaveLength(2);
      // Once the minute has passed, the same task is mailed again.
      await db('notification_mail_throttle').where({ recipient_id: grace.id, target_id: task.id }).update({ last_mailed_at: db.raw("now() - interval '61 seconds'") });
      await publish(assign(org, owner, null, task, grace));
      await publish(assign(org, owner, grace, task));
      expect(await outboxTo(grace)).toHaveLength(3);
    });

    it('respects the preference: off means no mail (the notification still arrives), for that kind only', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      await publishRaw([registered(grace, true)]);
      const org = await organization(owner, grace);
      const off = await request(audit.url, 'PATCH', '/api/v1/notifications/preferences/', { token: tokens.sign(grace), body: { email: { 'task.assigned': false } } });
      expect(off.status).toBe(200);
      await publish(assign(org, owner, grace, { id: randomUUID(), title: 'Quiet' }));
      await publish(events.inviteSent(randomUUID(), grace.email, owner));
      expect((await list(grace)).map((n) => n.kind)).toEqual(['invite.received', 'task.assigned']);
      expect((await outboxTo(grace)).map((m) => m.subject)).toEqual(['You are invited to an organization on TaskFlow']);
    });

    it('does not mail an address that is not verified', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      await publishRaw([registered(grace, false)]);
      const org = await organization(owner, grace);
      await publish(assign(org, owner, grace, { id: randomUUID(), title: 'Unverified' }));
      expect((await list(grace)).map((n) => n.kind)).toEqual(['task.assigned']);
      expect(await outboxTo(grace)).toEqual([]);
    });

    it('mails once when the same event is delivered several times to two replicas', async () => {
      const [owner, grace] = [newUser('owner'), newUser('grace')];
      await publishRaw([registered(grace, true)]);
      const org = await organization(owner, grace);
      const twice = envelopeOf(assign(org, owner, grace, { id: randomUUID(), title: 'Twice' }));
      await publishRaw([twice], 4);
      // Every copy was queued before this marker; once it is applied, the copies have been handled.
      await publish(events.taskCreated(org, 'Marker', owner));
      expect(await list(grace)).toHaveLength(1);
      expect(await outboxTo(grace)).toHaveLength(1);
      await eventually(async () => (await outboxTo(grace))[0]!.sent_at !== null, 10000);
      expect(await mailsTo(grace)).toHaveLength(1);
    });
  });
});
