import { randomUUID } from 'node:crypto';
import { createDb, type Knex, type NewEvent } from '@taskflow/shared';
import { createTestDatabase, createTestTokens, createTestVhost, eventually, request, type TestDatabase, type TestVhost } from '@taskflow/shared/testing';
import { AUDIT_SCHEMA } from '../src/db/migrations';
import { startAudit } from './start';
import { envelopeOf, events, newUser, OutboxPublisher, publishEnvelopes, startTenancyStandIn, type TestUser } from './support';

const serviceToken = 'audit-events-test-service-token';

describe('audit consuming events', () => {
  let database: TestDatabase;
  let vhost: TestVhost;
  let tenancy: Awaited<ReturnType<typeof startTenancyStandIn>>;
  let audit: { url: string; close(): Promise<void> };
  let publisher: OutboxPublisher;
  let db: Knex;
  const tokens = createTestTokens();

  const start = () =>
    startAudit({ databaseUrl: database.url, amqpUrl: vhost.url, tenancyUrl: tenancy.url, verifier: tokens.verifier, serviceToken });
  const activity = (user: TestUser, query = '') => request(audit.url, 'GET', `/api/v1/activity/${query}`, { token: tokens.sign(user) });
  const entriesWithId = async (id: string) => Number((await db('activity').where({ id }).count({ n: '*' }).first())!.n);

  /** A new organization whose owner's membership audit has recorded. */
  async function newOrganization(): Promise<{ org: string; owner: TestUser }> {
    const [org, owner] = [randomUUID(), newUser('owner')];
    await publisher.publish(`req-${org}`, events.membershipAdded(org, owner, 'owner', 1));
    await eventually(async () => (await activity(owner, `?organization=${org}`)).status === 200);
    return { org, owner };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    vhost = await createTestVhost();
    tenancy = await startTenancyStandIn(serviceToken);
    audit = await start();
    publisher = await OutboxPublisher.start(database.url, vhost.url);
    db = createDb({ url: database.url, schema: AUDIT_SCHEMA, poolMax: 2 });
  });

  afterAll(async () => {
    await audit?.close();
    await publisher?.close();
    await db?.destroy();
    await tenancy?.close();
    await database?.drop();
    await vhost?.drop();
  });

  it('records each event of an organization as one entry with its actor, target, changes and request id', async () => {
    const { org, owner } = await newOrganization();
    const taskId = randomUUID();
    const published = await publisher.publish(
      'req-edit-1',
      events.taskCreated(org, 'Write spec', owner, taskId),
      {
        type: 'work.task.updated',
        organization_id: org,
        actor: owner,
        data: { task: { id: taskId, project_id: randomUUID(), title: 'Write spec' }, changes: { status: ['todo', 'in_progress'] } },
      },
    );
    const res = await eventually(async () => {
      const r = await activity(owner, `?organization=${org}&target_id=${taskId}`);
      return r.body.results.length === 2 ? r : false;
    });
    // Both were recorded in one transaction (often the same millisecond), so look them up by verb.
    const byVerb = (verb: string) => res.body.results.find((e: { verb: string }) => e.verb === verb);
    const [created, updated] = [byVerb('task.created'), byVerb('task.updated')];
    expect(created).toEqual({
      id: published[0]!.id,
      organization: org,
      actor: owner.id,
      actor_email: owner.email,
      verb: 'task.created',
      action: "Created task 'Write spec'",
      target: { type: 'task', id: taskId },
      changes: {},
      created_at: published[0]!.occurred_at,
      request_id: 'req-edit-1',
    });
    expect(updated).toMatchObject({ id: published[1]!.id, verb: 'task.updated', action: "Updated task 'Write spec'", changes: { status: ['todo', 'in_progress'] } });
  });

  it('ignores events of no organization', async () => {
    const user = newUser('lonely');
    const [registered] = await publisher.publish('req-register', {
      type: 'identity.user.registered',
      organization_id: null,
      actor: null,
      data: { user: { id: user.id, email: user.email, first_name: 'L', last_name: 'L' }, date_joined: new Date().toISOString() },
    });
    await eventually(async () => (await db('processed_messages').where({ message_id: registered!.id })).length === 1);
    expect(await entriesWithId(registered!.id)).toBe(0);
  });

  it('records an event delivered twice once', async () => {
    const { org, owner } = await newOrganization();
    const twice = envelopeOf(events.taskCreated(org, 'Twice', owner), { occurredAt: new Date(Date.now() - 1000) });
    const after = envelopeOf(events.taskCreated(org, 'After', owner));
    await publishEnvelopes(vhost.url, [twice], 2);
    await publishEnvelopes(vhost.url, [after]);
    await eventually(async () => (await entriesWithId(after.id)) === 1);
    // Stopping waits for the deliveries in hand, so both copies of `twice` have been handled by now.
    await audit.close();
    expect(await entriesWithId(twice.id)).toBe(1);
    audit = await start();
    const res = await activity(owner, `?organization=${org}&verb=task.created`);
    expect(res.body.results.map((e: { id: string }) => e.id)).toEqual([after.id, twice.id]);
  });

  it('lets a new member read at once and shuts a removed member out of that organization', async () => {
    const { org, owner } = await newOrganization();
    const member = newUser('member');
    await publisher.publish('req-join', events.membershipAdded(org, member, 'member', 1, owner));
    const joined = await eventually(async () => {
      const r = await activity(member, `?organization=${org}`);
      return r.status === 200 ? r : false;
    });
    expect(joined.body.results[0]).toMatchObject({ verb: 'membership.added', action: `Added ${member.email} to organization as member`, target: { type: 'member', id: member.id } });
    expect((await activity(member)).body.results.map((e: { organization: string }) => e.organization)).toContain(org);

    await publisher.publish('req-remove', events.membershipRemoved(org, member, 'member', 2, owner));
    await eventually(async () => (await activity(member, `?organization=${org}`)).status === 404);
    expect((await activity(member)).body.results).toEqual([]);
    const ownerView = await activity(owner, `?organization=${org}&verb=membership.removed`);
    expect(ownerView.body.results).toEqual([expect.objectContaining({ action: `Removed ${member.email} from organization`, actor: owner.id })]);
  });

  it('follows role changes: a member promoted to admin starts seeing invitee emails', async () => {
    const { org, owner } = await newOrganization();
    const member = newUser('member');
    const invitee = `invitee-${randomUUID().slice(0, 8)}@example.com`;
    await publisher.publish('req-setup', events.membershipAdded(org, member, 'member', 1, owner), events.inviteSent(org, invitee, owner));
    const asMember = await eventually(async () => {
      const r = await activity(member, `?organization=${org}&verb=invite.sent`);
      return r.status === 200 && r.body.results.length === 1 ? r : false;
    });
    expect(asMember.body.results[0]).toMatchObject({ action: 'Invited someone to organization', changes: { role: [null, 'member'] } });
    expect(JSON.stringify(asMember.body)).not.toContain(invitee);

    await publisher.publish('req-promote', events.membershipRoleChanged(org, member, 'member', 'admin', 2, owner));
    const asAdmin = await eventually(async () => {
      const r = await activity(member, `?organization=${org}&verb=invite.sent`);
      return r.body.results[0]?.action === `Invited ${invitee} to organization` ? r : false;
    });
    expect(asAdmin.body.results[0].changes).toEqual({ email: [null, invitee], role: [null, 'member'] });
    const changed = await activity(owner, `?organization=${org}&verb=membership.role_changed`);
    expect(changed.body.results[0]).toMatchObject({ action: `Changed role of ${member.email} from member to admin`, changes: { role: ['member', 'admin'] } });
  });

  it('keeps events published while audit is stopped in its queue and records them all after it starts', async () => {
    const { org, owner } = await newOrganization();
    await audit.close();
    const batch: NewEvent[] = Array.from({ length: 40 }, (_, i) => events.taskCreated(org, `Offline ${i}`, owner));
    const published = [...(await publisher.publish('req-offline-1', ...batch.slice(0, 20))), ...(await publisher.publish('req-offline-2', ...batch.slice(20)))];
    // Redeliveries of some of them, as an at-least-once relay may produce.
    await publishEnvelopes(vhost.url, published.slice(0, 5));
    await eventually(async () => (await db.withSchema('scratch').from('outbox').whereNull('published_at')).length === 0);

    audit = await start();
    const ids = await eventually(async () => {
      const r = await activity(owner, `?organization=${org}&verb=task.created&limit=200`);
      return r.body.results.length >= published.length ? (r.body.results as Array<{ id: string }>).map((e) => e.id) : false;
    }, 15000);
    expect([...ids].sort()).toEqual(published.map((e) => e.id).sort());
  });
});
