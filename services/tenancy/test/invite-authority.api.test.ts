// An invite carries its sender's authority (security findings 5 and 6): it does not outlive its sender's
// membership or role, and only someone who could have sent it may replace it.
import { randomUUID } from 'node:crypto';
import type { EventEnvelope, Knex, Role } from '@taskflow/shared';
import { eventually } from '@taskflow/shared/testing';
import { revokeInvitesBeyondAuthority } from '../src/db/migrations';
import { collectEvents, type Harness, startHarness, type TestUser } from './support';

describe('invite authority', () => {
  let h: Harness;
  let bus: Awaited<ReturnType<typeof collectEvents>>;
  beforeAll(async () => {
    h = await startHarness();
    bus = await collectEvents(h.vhost.url);
  });
  afterAll(async () => {
    await bus.close();
    await h.close();
  });

  const accept = (token: string, user: TestUser) => h.call('POST', `/api/v1/invites/accept/${token}/`, user);
  const statusOf = async (inviteId: string) => (await h.db('invites').where({ id: inviteId }).first()).status as string;
  const roleOf = async (org: string, user: string) => (await h.db('memberships').where({ organization_id: org, user_id: user }).first())?.role as Role | undefined;
  const member = (org: { id: string }, user: TestUser) => `/api/v1/organizations/${org.id}/members/${user.id}/`;
  const sendOk = async (actor: TestUser, org: string, email: string, role: Role) => {
    const res = await h.invite(actor, org, email, role);
    expect(res.status).toBe(201);
    return res.body as { id: string; token: string };
  };
  const revokedEvents = (inviteId: string) =>
    bus.events.filter((e): e is EventEnvelope<'tenancy.invite.revoked'> => e.type === 'tenancy.invite.revoked' && (e as EventEnvelope<'tenancy.invite.revoked'>).data.invite.id === inviteId);

  describe('removal and leaving (finding 5)', () => {
    it('keeps a removed admin from coming back through an admin invite they sent to a second address of theirs', async () => {
      const { org, owner, admin } = await h.organization();
      const second = h.user(`second-${randomUUID().slice(0, 8)}@example.com`);
      const backdoor = await sendOk(admin, org.id, second.email, 'admin');
      expect((await h.call('DELETE', member(org, admin), owner)).status).toBe(204);

      const res = await accept(backdoor.token, second);
      expect(res.status).toBe(400);
      expect(res.body.detail).toBe('Invalid invite');
      expect(await roleOf(org.id, second.id)).toBeUndefined();
      expect(await statusOf(backdoor.id)).toBe('revoked');
      const listed = await h.call('GET', `/api/v1/invites/?organization=${org.id}&status=revoked`, owner);
      expect(listed.body.results.map((i: { id: string }) => i.id)).toEqual([backdoor.id]);
      expect((await h.call('GET', '/api/v1/invites/mine/', second)).body.results).toEqual([]);
    });

    it('revokes each pending invite of a removed sender with the event a manual revoke publishes, and leaves closed ones alone', async () => {
      const { org, owner, admin } = await h.organization();
      const joiner = h.user();
      const accepted = await sendOk(admin, org.id, joiner.email, 'member');
      expect((await accept(accepted.token, joiner)).status).toBe(200);
      const revokedByHand = await sendOk(admin, org.id, `r-${randomUUID()}@example.com`, 'member');
      expect((await h.call('DELETE', `/api/v1/invites/${revokedByHand.id}/`, admin)).status).toBe(204);
      const a = await sendOk(admin, org.id, `a-${randomUUID()}@example.com`, 'member');
      const b = await sendOk(admin, org.id, `b-${randomUUID()}@example.com`, 'admin');
      expect((await h.call('DELETE', member(org, admin), owner)).status).toBe(204);
      for (const [sent, role] of [[a, 'member'], [b, 'admin']] as const) {
        const [event] = await eventually(() => revokedEvents(sent.id).length > 0 && revokedEvents(sent.id));
        expect(event).toMatchObject({
          organization_id: org.id,
          actor_id: owner.id,
          actor_email: owner.email,
          data: { invite: { id: sent.id, role }, organization: { id: org.id, name: org.name } },
        });
      }
      // The removal commits the revocations with it: the outbox holds them beside the membership event.
      const types = (await h.db('outbox').select('envelope').orderBy('seq')).map((r: { envelope: EventEnvelope }) => r.envelope).filter((e) => e.organization_id === org.id).map((e) => e.type);
      expect(types.slice(-3)).toEqual(['tenancy.membership.removed', 'tenancy.invite.revoked', 'tenancy.invite.revoked']);
      expect(await statusOf(accepted.id)).toBe('accepted');
      expect(await roleOf(org.id, joiner.id)).toBe('member');
      const revocations = await h.db('outbox').where({ type: 'tenancy.invite.revoked' }).whereRaw(`envelope->'data'->'invite'->>'id' = ?`, [revokedByHand.id]);
      expect(revocations).toHaveLength(1);
    });

    it('revokes the pending invites of a member who leaves, and only theirs', async () => {
      const { org, owner, admin } = await h.organization();
      const theirs = await sendOk(admin, org.id, `theirs-${randomUUID()}@example.com`, 'member');
      const owners = await sendOk(owner, org.id, `owners-${randomUUID()}@example.com`, 'member');
      expect((await h.call('DELETE', member(org, admin), admin)).status).toBe(204);
      expect(await statusOf(theirs.id)).toBe('revoked');
      expect(await statusOf(owners.id)).toBe('pending');
      const [event] = await eventually(() => revokedEvents(theirs.id).length > 0 && revokedEvents(theirs.id));
      expect(event!.actor_id).toBe(admin.id);
    });
  });

  describe('demotion (finding 5)', () => {
    it('revokes only the owner-role invites of an owner demoted to admin', async () => {
      const { org, owner } = await h.organization();
      const second = h.user();
      await h.addMember(owner, org.id, second, 'owner');
      const adminInvitee = h.user();
      const ownerInvite = await sendOk(second, org.id, `o-${randomUUID()}@example.com`, 'owner');
      const adminInvite = await sendOk(second, org.id, adminInvitee.email, 'admin');
      const memberInvite = await sendOk(second, org.id, `m-${randomUUID()}@example.com`, 'member');
      const res = await h.call('PATCH', `/api/v1/organizations/${org.id}/members/${second.id}/`, owner, { body: { role: 'admin' } });
      expect(res.status).toBe(200);
      expect([await statusOf(ownerInvite.id), await statusOf(adminInvite.id), await statusOf(memberInvite.id)]).toEqual(['revoked', 'pending', 'pending']);
      const [event] = await eventually(() => revokedEvents(ownerInvite.id).length > 0 && revokedEvents(ownerInvite.id));
      expect(event).toMatchObject({ actor_id: owner.id, data: { invite: { id: ownerInvite.id, role: 'owner' } } });
      expect((await accept(adminInvite.token, adminInvitee)).body).toMatchObject({ detail: 'Invite accepted', role: 'admin' });
    });

    it("revokes every pending invite of an admin demoted to member, once the demotion happens, and keeps them across a promotion", async () => {
      const { org, owner, admin } = await h.organization();
      const adminInvite = await sendOk(admin, org.id, `a-${randomUUID()}@example.com`, 'admin');
      const memberInvite = await sendOk(admin, org.id, `m-${randomUUID()}@example.com`, 'member');
      expect((await h.call('PATCH', member(org, admin), owner, { body: { role: 'owner' } })).status).toBe(200);
      expect((await h.call('PATCH', member(org, admin), owner, { body: { role: 'admin' } })).status).toBe(200);
      const before = await h.snapshot();
      const stale = await h.call('PATCH', member(org, admin), owner, { body: { role: 'member' }, headers: { 'if-match': '"1"' } });
      expect(stale.status).toBe(412);
      expect(await h.snapshot()).toEqual(before);

      const res = await h.call('PATCH', member(org, admin), owner, { body: { role: 'member' } });
      expect(res.status).toBe(200);
      expect([await statusOf(adminInvite.id), await statusOf(memberInvite.id)]).toEqual(['revoked', 'revoked']);
      await eventually(() => revokedEvents(adminInvite.id).length === 1 && revokedEvents(memberInvite.id).length === 1);
    });
  });

  describe('replacing a pending invite (finding 6)', () => {
    it("refuses an admin replacing an owner's owner-role invite: 403, nothing changes, the old invite keeps working", async () => {
      const { org, owner, admin } = await h.organization();
      const heir = h.user(`heir-${randomUUID().slice(0, 8)}@example.com`);
      const ownerInvite = await sendOk(owner, org.id, heir.email, 'owner');
      const before = await h.snapshot();
      for (const role of ['member', 'admin'] as const) {
        const res = await h.invite(admin, org.id, heir.email.toUpperCase(), role);
        expect(res.status).toBe(403);
      }
      expect(await h.snapshot()).toEqual(before);
      const ok = await accept(ownerInvite.token, heir);
      expect(ok.status).toBe(200);
      expect(ok.body.role).toBe('owner');
    });

    it("lets an admin replace only the invites it could have sent: an owner's admin invite, an expired owner invite", async () => {
      const { org, owner, admin } = await h.organization();
      const [owned, adminRole, expired] = [`o-${randomUUID()}@example.com`, `a-${randomUUID()}@example.com`, `e-${randomUUID()}@example.com`];
      const ownerInvite = await sendOk(owner, org.id, owned, 'owner');
      const adminInvite = await sendOk(owner, org.id, adminRole, 'admin');
      const lapsed = await sendOk(owner, org.id, expired, 'owner');
      await h.db('invites').where({ id: lapsed.id }).update({ expires_at: h.db.raw("now() - interval '1 second'") });
      expect((await h.invite(admin, org.id, owned, 'member')).status).toBe(403);
      expect((await h.invite(admin, org.id, adminRole, 'member')).status).toBe(201);
      expect((await h.invite(admin, org.id, expired, 'member')).status).toBe(201);
      expect([await statusOf(ownerInvite.id), await statusOf(adminInvite.id), await statusOf(lapsed.id)]).toEqual(['pending', 'revoked', 'expired']);
    });
  });

  describe('invites sent before the fix', () => {
    it('are revoked once by a migration when their sender has since left or lost the role to send them', async () => {
      const { org, owner, admin } = await h.organization();
      const coOwner = h.user();
      await h.addMember(owner, org.id, coOwner, 'owner');
      const orphan = await sendOk(admin, org.id, `orphan-${randomUUID()}@example.com`, 'admin');
      const beyond = await sendOk(coOwner, org.id, `beyond-${randomUUID()}@example.com`, 'owner');
      const within = await sendOk(coOwner, org.id, `within-${randomUUID()}@example.com`, 'admin');
      const valid = await sendOk(owner, org.id, `valid-${randomUUID()}@example.com`, 'owner');
      // What the code before the fix left behind: the membership changed, the invites stayed pending.
      await h.db('memberships').where({ organization_id: org.id, user_id: admin.id }).delete();
      await h.db('memberships').where({ organization_id: org.id, user_id: coOwner.id }).update({ role: 'admin' });

      await h.db.transaction((trx) => revokeInvitesBeyondAuthority.up(trx));
      const statuses = await Promise.all([orphan, beyond, within, valid].map((i) => statusOf(i.id)));
      expect(statuses).toEqual(['revoked', 'revoked', 'pending', 'pending']);
      for (const [sent, role] of [[orphan, 'admin'], [beyond, 'owner']] as const) {
        const [event] = await eventually(() => revokedEvents(sent.id).length > 0 && revokedEvents(sent.id));
        expect(event).toMatchObject({ organization_id: org.id, actor_id: null, data: { invite: { id: sent.id, role }, organization: { id: org.id, name: org.name } } });
      }
    });
  });

  describe('under concurrency', () => {
    /**
     * Holds the organization's row lock while `first` and then `second` start (each waits for it, in that
     * order, which PostgreSQL keeps), then releases it: the two run one after the other, in a known order.
     */
    async function inOrder<A, B>(org: string, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
      const waiting = async () =>
        Number(
          (await h.db.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
        );
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = h.db.transaction(async (trx: Knex.Transaction) => {
        await trx('organizations').where({ id: org }).forUpdate().first('id');
        locked();
        await released;
      });
      await isLocked;
      const a = first();
      await eventually(async () => (await waiting()) === 1);
      const b = second();
      await eventually(async () => (await waiting()) === 2);
      release();
      await holder;
      return Promise.all([a, b]);
    }

    it('revokes an invite created by a member whose removal was waiting behind it', async () => {
      const { org, owner, admin } = await h.organization();
      const second = h.user();
      const [created, removed] = await inOrder(
        org.id,
        () => h.invite(admin, org.id, second.email, 'admin'),
        () => h.call('DELETE', member(org, admin), owner),
      );
      expect([created.status, removed.status]).toEqual([201, 204]);
      expect(await statusOf(created.body.id)).toBe('revoked');
      expect((await accept(created.body.token, second)).body.detail).toBe('Invalid invite');
      expect(await roleOf(org.id, second.id)).toBeUndefined();
    });

    it('refuses an accept that waited behind the removal of its sender', async () => {
      const { org, owner, admin } = await h.organization();
      const second = h.user();
      const sent = await sendOk(admin, org.id, second.email, 'admin');
      const [removed, accepted] = await inOrder(
        org.id,
        () => h.call('DELETE', member(org, admin), owner),
        () => accept(sent.token, second),
      );
      expect(removed.status).toBe(204);
      expect(accepted.status).toBe(400);
      expect(accepted.body.detail).toBe('Invalid invite');
      expect(await roleOf(org.id, second.id)).toBeUndefined();
      expect(await statusOf(sent.id)).toBe('revoked');
    });

    it("refuses an admin's replacement that waited behind an owner's owner-role invite", async () => {
      const { org, owner, admin } = await h.organization();
      const email = `race-${randomUUID()}@example.com`;
      const [ownerInvite, replacement] = await inOrder(
        org.id,
        () => h.invite(owner, org.id, email, 'owner'),
        () => h.invite(admin, org.id, email, 'member'),
      );
      expect([ownerInvite.status, replacement.status]).toEqual([201, 403]);
      expect(await statusOf(ownerInvite.body.id)).toBe('pending');
    });
  });
});
