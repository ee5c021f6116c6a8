import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import Koa from 'koa';
import {
  applyMembershipEvent,
  createDb,
  internalMembershipPath,
  MembershipReplica,
  membershipReplicaMigration,
  migrate,
  type EventEnvelope,
  type Role,
  type RunningServer,
} from '@taskflow/shared';
import { createTestDatabase, startTestServer, type TestDatabase } from '@taskflow/shared/testing';

type MembershipType = 'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed';

function membershipEvent(type: MembershipType, org: string, user: string, role: Role, version: number): EventEnvelope<MembershipType> {
  return {
    id: randomUUID(),
    type,
    version: 1,
    occurred_at: new Date().toISOString(),
    organization_id: org,
    actor_id: null,
    actor_email: null,
    request_id: null,
    data: { organization_id: org, user: { id: user, email: 'm@example.com', first_name: 'M', last_name: 'M' }, role, version, changes: { role: [role, role] }, reason: 'removed' },
  } as EventEnvelope<MembershipType>;
}

describe('membership replica', () => {
  let database: TestDatabase;
  let db: Knex;
  let tenancy: RunningServer;
  const tenancyMembers = new Map<string, { role: Role; version: number }>();
  const tenancyCalls: string[] = [];
  const serviceToken = 'test-service-token';
  let replica: MembershipReplica;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, schema: 'svc' });
    await migrate(db, 'svc', [membershipReplicaMigration]);
    // A real HTTP stand-in for tenancy's internal endpoint.
    const app = new Koa();
    app.use(async (ctx) => {
      tenancyCalls.push(ctx.path);
      if (ctx.get('authorization') !== `Bearer ${serviceToken}`) {
        ctx.status = 401;
        return;
      }
      const [, , , , org, , user] = ctx.path.split('/');
      const m = tenancyMembers.get(`${org}/${user}`);
      if (!m) {
        ctx.status = 404;
        return;
      }
      ctx.body = { organization_id: org, user_id: user, role: m.role, version: m.version };
    });
    tenancy = await startTestServer(app);
    replica = new MembershipReplica({ db, tenancyUrl: tenancy.url, serviceToken });
  });
  afterAll(async () => {
    await tenancy.close();
    await db.destroy();
    await database.drop();
  });

  const apply = (event: EventEnvelope<MembershipType>) => db.transaction((trx) => applyMembershipEvent(trx, event));

  it('keeps the newest version when events arrive out of order', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    await apply(membershipEvent('tenancy.membership.added', org, user, 'member', 1));
    await apply(membershipEvent('tenancy.membership.role_changed', org, user, 'admin', 3));
    expect(await apply(membershipEvent('tenancy.membership.role_changed', org, user, 'owner', 2))).toBe(false);
    expect(await replica.roleOf(user, org)).toBe('admin');
  });

  it('does not let an old event revive a removed membership', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    await apply(membershipEvent('tenancy.membership.added', org, user, 'member', 1));
    await apply(membershipEvent('tenancy.membership.removed', org, user, 'member', 2));
    await apply(membershipEvent('tenancy.membership.added', org, user, 'admin', 1));
    expect(await replica.roleOf(user, org)).toBeNull();
    await expect(replica.requireRole(user, org)).rejects.toMatchObject({ status: 404 });
    const orgs = await replica.organizationsOf(user);
    expect(orgs).toEqual([]);
  });

  it('asks tenancy once on a miss and remembers the answer', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    tenancyMembers.set(`${org}/${user}`, { role: 'admin', version: 5 });
    const before = tenancyCalls.length;
    expect(await replica.roleOf(user, org)).toBe('admin');
    expect(await replica.roleOf(user, org)).toBe('admin');
    expect(tenancyCalls.length - before).toBe(1);
    expect(tenancyCalls[tenancyCalls.length - 1]).toBe(internalMembershipPath(org, user));
    // A later event with a higher version still wins over the read-through answer.
    await apply(membershipEvent('tenancy.membership.removed', org, user, 'admin', 6));
    expect(await replica.roleOf(user, org)).toBeNull();
  });

  it('lets a user who was never refused use a new membership at once, before its event', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    tenancyMembers.set(`${org}/${user}`, { role: 'member', version: 1 });
    expect(await replica.roleOf(user, org)).toBe('member');
  });

  it("remembers tenancy's refusal: probing the same organization again asks tenancy no more within the TTL", async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    const before = tenancyCalls.length;
    expect(await replica.roleOf(user, org)).toBeNull();
    await expect(replica.requireRole(user, org)).rejects.toMatchObject({ status: 404 });
    await expect(replica.requireJoinedRole(user, org, { found: false, role: null })).rejects.toMatchObject({ status: 404 });
    expect(tenancyCalls.length - before).toBe(1);
    // Another user, or the same user in another organization, is a pair of its own.
    expect(await replica.roleOf(randomUUID(), org)).toBeNull();
    expect(await replica.roleOf(user, randomUUID())).toBeNull();
    expect(tenancyCalls.length - before).toBe(3);
  });

  it('makes a membership created after a remembered refusal usable as soon as its event is stored', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    expect(await replica.roleOf(user, org)).toBeNull();
    tenancyMembers.set(`${org}/${user}`, { role: 'admin', version: 1 });
    // Within the TTL the refusal still answers (the join's event has not landed yet)...
    expect(await replica.roleOf(user, org)).toBeNull();
    // ...and the stored event wins over it at once, in every path, with no call to tenancy.
    await apply(membershipEvent('tenancy.membership.added', org, user, 'admin', 1));
    const before = tenancyCalls.length;
    expect(await replica.roleOf(user, org)).toBe('admin');
    expect(await replica.requireRole(user, org)).toBe('admin');
    expect(tenancyCalls.length).toBe(before);
  });

  describe('the refusal memory is short and bounded', () => {
    let clock = 0;
    const shortMemory = () =>
      new MembershipReplica({ db, tenancyUrl: tenancy.url, serviceToken, refusals: { ttlMs: 1000, maxEntries: 2, now: () => clock } });

    it('forgets a refusal once the TTL has passed, so a join is noticed even without its event', async () => {
      const [org, user] = [randomUUID(), randomUUID()];
      const short = shortMemory();
      expect(await short.roleOf(user, org)).toBeNull();
      tenancyMembers.set(`${org}/${user}`, { role: 'member', version: 1 });
      clock += 999;
      expect(await short.roleOf(user, org)).toBeNull();
      clock += 1;
      expect(await short.roleOf(user, org)).toBe('member');
    });

    it('keeps at most maxEntries refusals, dropping the oldest', async () => {
      const short = shortMemory();
      const [org, a, b, c] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      for (const user of [a, b, c]) expect(await short.roleOf(user, org)).toBeNull();
      const before = tenancyCalls.length;
      expect(await short.roleOf(c, org)).toBeNull();
      expect(await short.roleOf(b, org)).toBeNull();
      expect(tenancyCalls.length).toBe(before);
      expect(await short.roleOf(a, org)).toBeNull();
      expect(tenancyCalls.length).toBe(before + 1);
    });
  });

  it('finishes a joined role check: a role at once, a tombstone 404, no row through tenancy', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    const before = tenancyCalls.length;
    expect(await replica.requireJoinedRole(user, org, { found: true, role: 'admin' })).toBe('admin');
    await expect(replica.requireJoinedRole(user, org, { found: true, role: null })).rejects.toMatchObject({ status: 404 });
    expect(tenancyCalls.length).toBe(before);
    tenancyMembers.set(`${org}/${user}`, { role: 'member', version: 1 });
    expect(await replica.requireJoinedRole(user, org, { found: false, role: null })).toBe('member');
    expect(tenancyCalls.length).toBe(before + 1);
  });

  it('fails closed with 503 when tenancy cannot answer a miss', async () => {
    const [org, user] = [randomUUID(), randomUUID()];
    const wrongToken = new MembershipReplica({ db, tenancyUrl: tenancy.url, serviceToken: 'wrong' });
    await expect(wrongToken.roleOf(user, org)).rejects.toMatchObject({ status: 503 });
    const down = new MembershipReplica({ db, tenancyUrl: 'http://127.0.0.1:1', serviceToken });
    await expect(down.roleOf(user, org)).rejects.toMatchObject({ status: 503 });
  });
});
