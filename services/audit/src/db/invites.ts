// All SQL on the invites audit keeps while they are pending, and on the user profile replica's addresses.
import { type Knex, USER_PROFILES_TABLE } from '@taskflow/shared';
import type { PendingInvite } from '../domain/notifications';
import { PENDING_INVITES_TABLE } from './migrations';

/** Remembers a sent invite until it is accepted, revoked, replaced or expires (a redelivery changes nothing). */
export async function storePendingInvite(trx: Knex.Transaction, invite: PendingInvite): Promise<void> {
  await trx(PENDING_INVITES_TABLE).insert(invite).onConflict('invite_id').ignore();
}

/** Forgets an invite that is no longer pending (accepted, revoked, replaced). */
export async function forgetInvite(trx: Knex.Transaction, inviteId: string): Promise<void> {
  await trx(PENDING_INVITES_TABLE).where({ invite_id: inviteId }).delete();
}

/** Forgets every invite of a deleted organization. */
export async function forgetOrganizationInvites(trx: Knex.Transaction, organizationId: string): Promise<void> {
  await trx(PENDING_INVITES_TABLE).where({ organization_id: organizationId }).delete();
}

/** The invites still pending (not expired) to `emailCanonical`. */
export async function pendingInvitesTo(trx: Knex.Transaction, emailCanonical: string): Promise<PendingInvite[]> {
  return trx(PENDING_INVITES_TABLE).select('*').where({ email_canonical: emailCanonical }).where('expires_at', '>', trx.fn.now());
}

/** The user whose verified address is `emailCanonical` (identity keeps one account per canonical address). */
export async function verifiedUserWith(trx: Knex.Transaction, emailCanonical: string): Promise<string | null> {
  const row = await trx(USER_PROFILES_TABLE).where({ email_canonical: emailCanonical, email_verified: true }).orderBy('version', 'desc').first('user_id');
  return (row?.user_id as string | undefined) ?? null;
}

/** A user's verified address and its canonical form, if the replica holds one. */
export async function verifiedAddressOf(trx: Knex.Transaction, userId: string): Promise<{ email: string; email_canonical: string } | undefined> {
  return trx(USER_PROFILES_TABLE).where({ user_id: userId, email_verified: true }).first('email', 'email_canonical');
}
