// A service's local copy of tenancy's memberships, used to scope queries and check roles.
// Fed by tenancy.membership.* events (the highest version wins, so an old event never overwrites a
// newer one); a miss asks tenancy's internal endpoint once; if neither can answer, fail closed (503).
// Tenancy's "not a member" is remembered briefly (refusals.ts); see `readThrough` for why a join still works.
import type { Knex } from 'knex';
import { currentDb, type Migration } from '../db';
import type { Sql } from '../db/keyset';
import type { EventEnvelope, Role } from '../events';
import { notFound, unavailable } from '../http/errors';
import { RefusalCache, type RefusalCacheOptions } from './refusals';

export const MEMBERSHIP_TABLE = 'membership_replica';

export const membershipReplicaMigration: Migration = {
  name: '000_membership_replica',
  async up(db) {
    await db.schema.createTable(MEMBERSHIP_TABLE, (t) => {
      t.uuid('organization_id').notNullable();
      t.uuid('user_id').notNullable();
      /** NULL once the membership is removed (kept as a tombstone so older events cannot revive it). */
      t.text('role');
      t.bigInteger('version').notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.primary(['organization_id', 'user_id']);
    });
    await db.raw(`CREATE INDEX membership_replica_by_user ON ${MEMBERSHIP_TABLE} (user_id, organization_id) WHERE role IS NOT NULL`);
  },
};

export interface MembershipFact {
  organization_id: string;
  user_id: string;
  role: Role | null;
  version: number;
}

/** Stores `fact` unless the replica already holds the same or a newer version. Returns whether it won. */
export async function storeMembership(db: Knex | Knex.Transaction, fact: MembershipFact): Promise<boolean> {
  const result = await db.raw(
    `INSERT INTO ${MEMBERSHIP_TABLE} (organization_id, user_id, role, version, updated_at)
     VALUES (?, ?, ?, ?, now())
     ON CONFLICT (organization_id, user_id) DO UPDATE
       SET role = excluded.role, version = excluded.version, updated_at = now()
       WHERE ${MEMBERSHIP_TABLE}.version < excluded.version`,
    [fact.organization_id, fact.user_id, fact.role, fact.version],
  );
  return (result.rowCount ?? 0) > 0;
}

type MembershipEvent = EventEnvelope<'tenancy.membership.added' | 'tenancy.membership.role_changed' | 'tenancy.membership.removed'>;

/** The replica's effect of a membership event, for a consumer's handler map. */
export async function applyMembershipEvent(trx: Knex.Transaction, event: MembershipEvent): Promise<boolean> {
  return storeMembership(trx, {
    organization_id: event.data.organization_id,
    user_id: event.data.user.id,
    role: event.type === 'tenancy.membership.removed' ? null : event.data.role,
    version: event.data.version,
  });
}

/** Path of tenancy's internal endpoint: one user's role in one organization. */
export const internalMembershipPath = (organizationId: string, userId: string) =>
  `/internal/v1/organizations/${organizationId}/members/${userId}`;

/**
 * The organizations (`organization_id`, `role`) a list reads, as constant SQL for a list statement: every
 * one the replica says the user belongs to, or one of them only if the replica says so.
 */
export const organizationsOfUser = (userId: string): Sql => ({
  text: `select organization_id, role from ${MEMBERSHIP_TABLE} where user_id = ? and role is not null`,
  values: [userId],
});
const organizationIfMember = (organizationId: string, userId: string): Sql => ({
  text: `select organization_id, role from ${MEMBERSHIP_TABLE} where organization_id = ? and user_id = ? and role is not null`,
  values: [organizationId, userId],
});
/** Select-list items telling, in the list's own statement, whether the replica has the pair's row and its role. */
const replicaRowColumns = (organizationId: string, userId: string): Sql => ({
  text:
    `exists (select 1 from ${MEMBERSHIP_TABLE} where organization_id = ? and user_id = ?) as member_row, ` +
    `(select role from ${MEMBERSHIP_TABLE} where organization_id = ? and user_id = ?) as member_role`,
  values: [organizationId, userId, organizationId, userId],
});

/** What a list statement of `MembershipReplica.readScoped` returns besides its page. */
export interface ReplicaRow {
  member_row?: boolean;
  member_role?: Role | null;
}

export interface ReplicaOptions {
  db: Knex;
  tenancyUrl: string;
  serviceToken: string;
  timeoutMs?: number;
  /** How long and how many of tenancy's "not a member" answers are remembered. */
  refusals?: RefusalCacheOptions;
}

export class MembershipReplica {
  private readonly refusals: RefusalCache;

  constructor(private readonly options: ReplicaOptions) {
    this.refusals = new RefusalCache(options.refusals);
  }

  /** The caller's role in the organization, or null when not a member. */
  async roleOf(userId: string, organizationId: string): Promise<Role | null> {
    // Inside a write (an Idempotency-Key opens it first), read in that transaction, not on a second pooled connection.
    const row = await currentDb(this.options.db)(MEMBERSHIP_TABLE)
      .select('role')
      .where({ organization_id: organizationId, user_id: userId })
      .first();
    if (row) return (row.role as Role | null) ?? null;
    return this.readThrough(userId, organizationId);
  }

  /** Like `roleOf` but answers 404 for non-members, hiding the organization's existence. */
  async requireRole(userId: string, organizationId: string): Promise<Role> {
    const role = await this.roleOf(userId, organizationId);
    if (!role) throw notFound();
    return role;
  }

  /**
   * Finishes a role check whose replica row the caller read in its own query (a LEFT JOIN on
   * MEMBERSHIP_TABLE, so a hot read is one round trip): a role answers at once, a tombstone is 404,
   * and no row at all asks tenancy like `requireRole`.
   */
  async requireJoinedRole(userId: string, organizationId: string, joined: { found: boolean; role: Role | null }): Promise<Role> {
    // No row was joined: straight to the read-through, without reading the table again, so an object of
    // another organization costs what a missing object costs once the refusal is remembered.
    if (!joined.found) {
      const role = await this.readThrough(userId, organizationId);
      if (!role) throw notFound();
      return role;
    }
    if (!joined.role) throw notFound();
    return joined.role;
  }

  /**
   * A list scoped by the caller's memberships in one round trip: `read` runs one statement over
   * `organizations` (`organization_id`, `role` rows) and, when `extra` is given, adds its select-list
   * items (the replica row of the one organization asked for). Without `organization`, every
   * organization the replica lists; with it, as `requireRole` decides: a role reads at once, a tombstone
   * is 404, no row asks tenancy and, when tenancy answers with a role, reads that organization again.
   */
  async readScoped<R extends ReplicaRow>(userId: string, organization: string | undefined, read: (organizations: Sql, extra?: Sql) => Promise<R>): Promise<R> {
    if (organization === undefined) return read(organizationsOfUser(userId));
    const page = await read(organizationIfMember(organization, userId), replicaRowColumns(organization, userId));
    if (page.member_role) return page;
    const role = await this.requireJoinedRole(userId, organization, { found: page.member_row === true, role: null });
    return read({ text: 'select ?::uuid as organization_id, ?::text as role', values: [organization, role] });
  }

  /** Organizations the user belongs to according to the replica (for scoping lists). */
  organizationsOf(userId: string): Knex.QueryBuilder {
    return this.options.db(MEMBERSHIP_TABLE).select('organization_id').where({ user_id: userId }).whereNotNull('role');
  }

  /**
   * The replica table has no row for the pair. A refusal tenancy gave within the TTL answers at once;
   * otherwise tenancy is asked and a refusal remembered. A join normally reaches us as an event that
   * stores a row, and rows are read before this cache in every process (whichever one consumed the event),
   * so the join wins as soon as its event lands. Only a user refused moments before joining
   * waits for that event, within the event lag, and never longer than the TTL; everyone else's first
   * request after joining still reads through to tenancy and works at once.
   */
  private async readThrough(userId: string, organizationId: string): Promise<Role | null> {
    if (this.refusals.has(userId, organizationId)) return null;
    const role = await this.askTenancy(userId, organizationId);
    if (!role) this.refusals.remember(userId, organizationId);
    return role;
  }

  private async askTenancy(userId: string, organizationId: string): Promise<Role | null> {
    let res: Response;
    try {
      res = await fetch(`${this.options.tenancyUrl}${internalMembershipPath(organizationId, userId)}`, {
        headers: { authorization: `Bearer ${this.options.serviceToken}` },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
      });
    } catch {
      throw unavailable('Memberships cannot be checked right now; retry shortly.');
    }
    // Not stored in the table: a membership created a moment later must not wait for an event to undo it.
    if (res.status === 404) return null;
    if (!res.ok) throw unavailable('Memberships cannot be checked right now; retry shortly.');
    const fact = (await res.json()) as MembershipFact;
    if (fact.role) await storeMembership(currentDb(this.options.db), { ...fact, organization_id: organizationId, user_id: userId });
    return fact.role ?? null;
  }
}
