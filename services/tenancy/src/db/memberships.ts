// Memberships and the user profile replica: every SQL statement on tenancy.memberships and tenancy.user_profiles.
// Each change takes its version from membership_version_seq.
import type { JsonPage, KeyValue, Knex, Role, UserSummary } from '@taskflow/shared';
import { canonicalEmail, isoTimestamp, keyset, readJsonPage } from '@taskflow/shared';

type Db = Knex | Knex.Transaction;

export interface MembershipRow {
  organization_id: string;
  user_id: string;
  role: Role;
  version: number;
  joined_at: Date;
}

export interface MemberRow extends MembershipRow {
  email: string;
  first_name: string;
  last_name: string;
}

const NEXT_VERSION = "nextval('membership_version_seq')";
const membershipColumns = ['organization_id', 'user_id', 'role', 'version', 'joined_at'];
const memberColumns = [
  'm.organization_id',
  'm.user_id',
  'm.role',
  'm.version',
  'm.joined_at',
  'p.email',
  'p.first_name',
  'p.last_name',
];

/** pg returns bigint as a string; versions stay far below 2^53. */
function withNumericVersion<T extends { version: unknown }>(row: T): T & { version: number } {
  return { ...row, version: Number(row.version) };
}

export async function membershipOf(db: Db, organizationId: string, userId: string): Promise<MembershipRow | undefined> {
  const row = await db('memberships').where({ organization_id: organizationId, user_id: userId }).first(membershipColumns);
  return row ? withNumericVersion(row) : undefined;
}

export async function memberOf(db: Db, organizationId: string, userId: string): Promise<MemberRow | undefined> {
  const row = await db({ m: 'memberships' })
    .join({ p: 'user_profiles' }, 'p.user_id', 'm.user_id')
    .where({ 'm.organization_id': organizationId, 'm.user_id': userId })
    .first(memberColumns);
  return row ? withNumericVersion(row) : undefined;
}

/** Inserts the membership; undefined when the user already belongs to the organization. */
export async function insertMembership(
  trx: Knex.Transaction,
  membership: { organizationId: string; userId: string; role: Role },
): Promise<MembershipRow | undefined> {
  const [row] = await trx('memberships')
    .insert({ organization_id: membership.organizationId, user_id: membership.userId, role: membership.role })
    .onConflict(['organization_id', 'user_id'])
    .ignore()
    .returning(membershipColumns);
  return row ? withNumericVersion(row) : undefined;
}

export async function changeRole(trx: Knex.Transaction, organizationId: string, userId: string, role: Role): Promise<MembershipRow> {
  const [row] = await trx('memberships')
    .where({ organization_id: organizationId, user_id: userId })
    .update({ role, version: trx.raw(NEXT_VERSION) })
    .returning(membershipColumns);
  return withNumericVersion(row);
}

/** Deletes the membership; returns the role it had and the version of its removal. */
export async function deleteMembership(trx: Knex.Transaction, organizationId: string, userId: string): Promise<{ role: Role; version: number }> {
  const { rows } = await trx.raw(
    `DELETE FROM memberships WHERE organization_id = ? AND user_id = ? RETURNING role, ${NEXT_VERSION} AS version`,
    [organizationId, userId],
  );
  return withNumericVersion(rows[0]);
}

/** Deletes every membership of the organization; returns each member with the version of its removal. */
export async function deleteAllMemberships(trx: Knex.Transaction, organizationId: string): Promise<MemberRow[]> {
  const { rows } = await trx.raw(
    `WITH removed AS (DELETE FROM memberships WHERE organization_id = ? RETURNING *)
     SELECT r.organization_id, r.user_id, r.role, r.joined_at, ${NEXT_VERSION} AS version, p.email, p.first_name, p.last_name
     FROM removed r JOIN user_profiles p ON p.user_id = r.user_id
     ORDER BY r.joined_at, r.user_id`,
    [organizationId],
  );
  return (rows as MemberRow[]).map(withNumericVersion);
}

export async function countOwners(trx: Knex.Transaction, organizationId: string): Promise<number> {
  const row = await trx('memberships').where({ organization_id: organizationId, role: 'owner' }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** In the order they joined (ties by user id). */
const byJoining = keyset([
  { column: 'joined_at', descending: false },
  { column: 'user_id', descending: false },
]);

/** One page of `limit` members in the order they joined, after `[joined_at, user_id]`, written by PostgreSQL as `presentMember` writes one (`jsonPage`). */
export async function listMembers(db: Db, organizationId: string, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  const bound = after ? byJoining.after('m', after) : undefined;
  return readJsonPage(db, {
    rows: {
      text:
        'select m.user_id, m.role, m.joined_at, p.email, p.first_name, p.last_name from memberships as m join user_profiles as p on p.user_id = m.user_id' +
        ` where m.organization_id = ?${bound ? ` and ${bound.text}` : ''} order by ${byJoining.orderBy('m')} limit ?`,
      values: [organizationId, ...(bound?.values ?? []), limit + 1],
    },
    keyset: byJoining,
    fields: `(select u from (select r.user_id as id, r.email, r.first_name, r.last_name) as u) as user, r.role, ${isoTimestamp('r.joined_at')} as joined_at`,
    cursor: [isoTimestamp('r.joined_at'), 'r.user_id'],
    limit,
  });
}

export async function isMemberByEmail(db: Db, organizationId: string, email: string): Promise<boolean> {
  const row = await db({ m: 'memberships' })
    .join({ p: 'user_profiles' }, 'p.user_id', 'm.user_id')
    .where('m.organization_id', organizationId)
    .where('p.email_canonical', canonicalEmail(email))
    .first('m.user_id');
  return row !== undefined;
}

// --- user profile replica --------------------------------------------------------------------

const TOKEN_PROFILE_VERSION = -1;

/** Makes sure the user has a profile, taking it from the access token when no identity event has arrived yet. */
export async function ensureProfile(trx: Knex.Transaction, user: { id: string; email: string }): Promise<void> {
  await trx('user_profiles')
    .insert({ user_id: user.id, email: user.email, email_canonical: canonicalEmail(user.email), first_name: '', last_name: '', version: TOKEN_PROFILE_VERSION })
    .onConflict('user_id')
    .ignore();
}

/** True when the replica knows `email` as the user's verified address. */
export async function isEmailVerified(db: Db, userId: string, email: string): Promise<boolean> {
  const row = await db('user_profiles').where({ user_id: userId, email_canonical: canonicalEmail(email), email_verified: true }).first('user_id');
  return row !== undefined;
}

/** Records that identity answered "verified" for this address before its event arrived. */
export async function markEmailVerified(db: Db, user: { id: string; email: string }): Promise<void> {
  await db('user_profiles')
    .insert({ user_id: user.id, email: user.email, email_canonical: canonicalEmail(user.email), first_name: '', last_name: '', version: TOKEN_PROFILE_VERSION, email_verified: true })
    .onConflict('user_id')
    .merge({ email_verified: db.raw('user_profiles.email_verified OR user_profiles.email_canonical = excluded.email_canonical') });
}

export async function profileOf(db: Db, userId: string): Promise<UserSummary | undefined> {
  const row = await db('user_profiles').where({ user_id: userId }).first('user_id', 'email', 'first_name', 'last_name');
  return row ? { id: row.user_id, email: row.email, first_name: row.first_name, last_name: row.last_name } : undefined;
}
