// Invites: every SQL statement on tenancy.invites. Tokens are stored only as their SHA-256 hash; addresses
// are compared by their canonical form (shared canonicalEmail), kept in email_canonical.
import type { JsonPage, KeyValue, Knex, Role, Sql } from '@taskflow/shared';
import { canonicalEmail, isoTimestamp, keyset, readJsonPage } from '@taskflow/shared';

type Db = Knex | Knex.Transaction;

export type StoredInviteStatus = 'pending' | 'accepted' | 'revoked' | 'expired';
export type InviteStatus = StoredInviteStatus;

export interface InviteRow {
  id: string;
  organization_id: string;
  organization_name: string;
  email: string;
  role: Role;
  status: StoredInviteStatus;
  invited_by: string;
  created_at: Date;
  expires_at: Date;
  /** Computed: status as the client sees it (a pending invite past its expiry is `expired`). */
  effective_status: InviteStatus;
}

const inviteColumns = (db: Db, alias = 'i') => [
  `${alias}.id`,
  `${alias}.organization_id`,
  db.raw(`(SELECT o.name FROM organizations o WHERE o.id = ${alias}.organization_id) AS organization_name`),
  `${alias}.email`,
  `${alias}.role`,
  `${alias}.status`,
  `${alias}.invited_by`,
  `${alias}.created_at`,
  `${alias}.expires_at`,
  db.raw(`CASE WHEN ${alias}.status = 'pending' AND ${alias}.expires_at <= now() THEN 'expired' ELSE ${alias}.status END AS effective_status`),
];

export async function insertInvite(
  trx: Knex.Transaction,
  invite: { id: string; organizationId: string; email: string; role: Role; tokenHash: string; invitedBy: string; ttlMs: number },
): Promise<InviteRow> {
  const [row] = await trx({ i: 'invites' })
    .insert({
      id: invite.id,
      organization_id: invite.organizationId,
      email: invite.email,
      email_canonical: canonicalEmail(invite.email),
      role: invite.role,
      token_hash: invite.tokenHash,
      invited_by: invite.invitedBy,
      expires_at: trx.raw(`now() + make_interval(secs => ?)`, [invite.ttlMs / 1000]),
    })
    .returning(inviteColumns(trx));
  return row as InviteRow;
}

/**
 * Closes the pending invites of the organization to that address (the new one replaces them):
 * unexpired ones become `revoked`, expired ones `expired`. Returns the closed invites.
 */
export async function closePendingInvites(trx: Knex.Transaction, organizationId: string, email: string): Promise<InviteRow[]> {
  const { rows } = await trx.raw(
    `UPDATE invites i
        SET status = CASE WHEN i.expires_at <= now() THEN 'expired' ELSE 'revoked' END, closed_at = now()
      WHERE i.organization_id = ? AND i.email_canonical = ? AND i.status = 'pending'
      RETURNING i.id, i.organization_id, (SELECT o.name FROM organizations o WHERE o.id = i.organization_id) AS organization_name, i.email, i.role, i.status, i.invited_by, i.created_at, i.expires_at, i.status AS effective_status`,
    [organizationId, canonicalEmail(email)],
  );
  return rows as InviteRow[];
}

/** The pending, unexpired invite of the organization to that address (any case), locked until the transaction ends. */
export async function lockPendingInviteTo(trx: Knex.Transaction, organizationId: string, email: string): Promise<InviteRow | undefined> {
  return trx({ i: 'invites' })
    .where({ 'i.organization_id': organizationId, 'i.status': 'pending', 'i.email_canonical': canonicalEmail(email) })
    .where('i.expires_at', '>', trx.fn.now())
    .forUpdate()
    .first(inviteColumns(trx));
}

/** Revokes the pending, unexpired invites `senderId` sent in the organization with one of `roles`; returns them. */
export async function revokePendingInvitesSentBy(trx: Knex.Transaction, organizationId: string, senderId: string, roles: Role[]): Promise<InviteRow[]> {
  if (roles.length === 0) return [];
  const rows = await trx({ i: 'invites' })
    .where({ 'i.organization_id': organizationId, 'i.invited_by': senderId, 'i.status': 'pending' })
    .whereIn('i.role', roles)
    .where('i.expires_at', '>', trx.fn.now())
    .update({ status: 'revoked', closed_at: trx.fn.now() })
    .returning(inviteColumns(trx));
  return (rows as InviteRow[]).sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id));
}

export async function inviteById(db: Db, inviteId: string): Promise<InviteRow | undefined> {
  return db({ i: 'invites' }).where('i.id', inviteId).first(inviteColumns(db));
}

export async function inviteByTokenHash(db: Db, tokenHash: string): Promise<InviteRow | undefined> {
  return db({ i: 'invites' }).where('i.token_hash', tokenHash).first(inviteColumns(db));
}

/** Revokes the invite if it is still pending; returns it, or undefined when it was not pending. */
export async function revokeInvite(trx: Knex.Transaction, inviteId: string): Promise<InviteRow | undefined> {
  const [row] = await trx({ i: 'invites' })
    .where({ 'i.id': inviteId, 'i.status': 'pending' })
    .update({ status: 'revoked', closed_at: trx.fn.now() })
    .returning(inviteColumns(trx));
  return row as InviteRow | undefined;
}

/**
 * The accept, as ONE conditional update: only a pending, unexpired invite addressed to `email` moves
 * to accepted. Of concurrent accepts exactly one gets the row; the others see it no longer pending.
 */
export async function acceptPendingInvite(trx: Knex.Transaction, tokenHash: string, email: string, userId: string): Promise<InviteRow | undefined> {
  const [row] = await trx({ i: 'invites' })
    .where({ 'i.token_hash': tokenHash, 'i.status': 'pending' })
    .where('i.expires_at', '>', trx.fn.now())
    .where('i.email_canonical', canonicalEmail(email))
    .update({ status: 'accepted', accepted_by: userId, closed_at: trx.fn.now() })
    .returning(inviteColumns(trx));
  return row as InviteRow | undefined;
}

const newestFirst = keyset([
  { column: 'created_at', descending: true },
  { column: 'id', descending: true },
]);

/** An invite's row for a page: `inviteColumns`' values, as SQL text over `i`. */
const PAGE_COLUMNS =
  "i.id, i.organization_id, (select o.name from organizations o where o.id = i.organization_id) as organization_name, i.email, i.role, i.invited_by, i.created_at, i.expires_at, " +
  "case when i.status = 'pending' and i.expires_at <= now() then 'expired' else i.status end as effective_status";

/** An invite as `presentInvite` writes it, over a page's row `r`. */
const INVITE_FIELDS = [
  'r.id',
  'r.organization_id as organization',
  'r.organization_name',
  'r.email',
  'r.role',
  'r.effective_status as status',
  'r.invited_by',
  `${isoTimestamp('r.created_at')} as created_at`,
  `${isoTimestamp('r.expires_at')} as expires_at`,
].join(', ');

/** One page of `limit` invites matching `where` (over `i`), newest first, written by PostgreSQL (`jsonPage`). */
function invitePage(db: Db, where: Sql, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  const bound = after ? newestFirst.after('i', after) : undefined;
  return readJsonPage(db, {
    rows: {
      text: `select ${PAGE_COLUMNS} from invites as i where ${where.text}${bound ? ` and ${bound.text}` : ''} order by ${newestFirst.orderBy('i')} limit ?`,
      values: [...where.values, ...(bound?.values ?? []), limit + 1],
    },
    keyset: newestFirst,
    fields: INVITE_FIELDS,
    cursor: [isoTimestamp('r.created_at'), 'r.id'],
    limit,
  });
}

/** The invites a status filter selects, as the client sees statuses (a pending invite past its expiry is `expired`). */
const STATUS_WHERE: Record<InviteStatus, string> = {
  pending: "i.status = 'pending' and i.expires_at > now()",
  expired: "(i.status = 'expired' or (i.status = 'pending' and i.expires_at <= now()))",
  accepted: "i.status = 'accepted'",
  revoked: "i.status = 'revoked'",
};

export async function listInvites(db: Db, organizationId: string, filter: { status?: InviteStatus }, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  const status = filter.status ? ` and ${STATUS_WHERE[filter.status]}` : '';
  return invitePage(db, { text: `i.organization_id = ?${status}`, values: [organizationId] }, limit, after);
}

export async function listPendingInvitesTo(db: Db, email: string, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  return invitePage(db, { text: `i.email_canonical = ? and ${STATUS_WHERE.pending}`, values: [canonicalEmail(email)] }, limit, after);
}
