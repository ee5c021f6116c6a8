// Invites: send (replacing a pending one to the same address), list, revoke, accept.
// The token exists in clear only in the create response and in the queued mail; the table keeps its hash.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  AppError,
  canonicalEmail,
  conflict,
  type KeyValue,
  type Knex,
  linkWithToken,
  notFound,
  plainTextLine,
  queueMail,
  type Role,
  validationFailed,
} from '@taskflow/shared';
import * as invites from '../db/invites';
import type { InviteRow, InviteStatus } from '../db/invites';
import * as memberships from '../db/memberships';
import * as organizations from '../db/organizations';
import { type Caller, enforce, type TenancyContext } from './context';
import { inviteEvent, membershipAdded } from './events';
import { ensureMayReplacePendingInvite } from './invite-authority';
import type { OrganizationView } from './organizations';
import { decide } from './policy';
import { callerEmailVerified } from './verification';

export type { InviteRow } from '../db/invites';
export { inviteCursor } from '../db/invites';

export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;

export const INVITE_ERRORS = {
  alreadyMember: () => new AppError(400, 'already_member', 'User already in organization'),
  invalid: () => new AppError(400, 'invalid_invite', 'Invalid invite'),
  expired: () => new AppError(400, 'invite_expired', 'Invite expired'),
  emailMismatch: () => new AppError(400, 'invite_email_mismatch', 'Invite email mismatch'),
  emailNotVerified: () => new AppError(400, 'email_not_verified', 'Email not verified'),
};

export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export const acceptLink = linkWithToken;

export async function createInvite(
  ctx: TenancyContext,
  trx: Knex.Transaction,
  caller: Caller,
  input: { organization: string; email: string; role: Role },
): Promise<{ invite: InviteRow; token: string }> {
  // Locking the organization serializes invites to it, so "one pending invite per address" never races.
  const org = await organizations.lockOrganization(trx, input.organization);
  const me = org && (await memberships.membershipOf(trx, input.organization, caller.id));
  if (!org || !me) throw validationFailed({ organization: ['Organization not found.'] });
  enforce(decide('create_invite', me.role, { role: input.role }));
  if (await memberships.isMemberByEmail(trx, org.id, input.email)) throw INVITE_ERRORS.alreadyMember();
  await ensureMayReplacePendingInvite(trx, org.id, me.role, input.email);

  const replaced = await invites.closePendingInvites(trx, org.id, input.email);
  const token = randomBytes(32).toString('base64url');
  const invite = await invites.insertInvite(trx, {
    id: randomUUID(),
    organizationId: org.id,
    email: input.email,
    role: input.role,
    tokenHash: hashToken(token),
    invitedBy: caller.id,
    ttlMs: INVITE_TTL_MS,
  });
  // The organization's name is the inviter's text: the body carries it as one plain line, never a header.
  await queueMail(trx, {
    id: randomUUID(),
    to: invite.email,
    subject: 'You are invited to join an organization on TaskFlow',
    text: [
      `${caller.email} invited you to join the organization "${plainTextLine(org.name)}" on TaskFlow as ${invite.role}.`,
      '',
      `Accept the invitation (sign in as ${invite.email} first):`,
      acceptLink(ctx.mail.inviteAcceptUrl, token),
      '',
      `The invitation expires at ${invite.expires_at.toISOString()}.`,
    ].join('\n'),
  });
  await ctx.outbox.add(
    trx,
    ...replaced.filter((r) => r.status === 'revoked').map((r) => inviteEvent('tenancy.invite.revoked', r, org, caller)),
    inviteEvent('tenancy.invite.sent', invite, org, caller),
  );
  return { invite, token };
}

export async function listInvites(
  ctx: TenancyContext,
  caller: Caller,
  organizationId: string,
  status: InviteStatus | undefined,
  limit: number,
  after?: readonly KeyValue[],
): Promise<InviteRow[]> {
  const me = await memberships.membershipOf(ctx.db, organizationId, caller.id);
  enforce(decide('list_invites', me?.role ?? null));
  return invites.listInvites(ctx.db, organizationId, { status }, limit, after);
}

/** An unverified address sees none: whoever registered it may not own it. */
export async function listMyInvites(ctx: TenancyContext, caller: Caller, limit: number, after?: readonly KeyValue[]): Promise<InviteRow[]> {
  if (!(await callerEmailVerified(ctx, ctx.db, caller))) return [];
  return invites.listPendingInvitesTo(ctx.db, caller.email, limit, after);
}

/** Revokes a pending invite; revoking a revoked one again changes nothing. */
export async function revokeInvite(ctx: TenancyContext, caller: Caller, inviteId: string): Promise<void> {
  await ctx.db.transaction(async (trx) => {
    const invite = await invites.inviteById(trx, inviteId);
    const org = invite && (await organizations.organizationForUser(trx, invite.organization_id, caller.id));
    if (!invite || !org) throw notFound();
    enforce(decide('revoke_invite', org.role, { role: invite.role }));
    if (invite.status === 'revoked') return;
    const revoked = await invites.revokeInvite(trx, inviteId);
    if (!revoked) throw conflict('Only a pending invite can be revoked.', 'invite_not_pending');
    await ctx.outbox.add(trx, inviteEvent('tenancy.invite.revoked', revoked, org, caller));
  });
}

/**
 * Accepts with one conditional update (pending, unexpired, addressed to the caller), so of concurrent
 * accepts exactly one wins. When it matches nothing, the invite is read to say why, in the contract's order.
 */
export async function acceptInvite(
  ctx: TenancyContext,
  trx: Knex.Transaction,
  caller: Caller,
  token: string,
): Promise<{ organization: OrganizationView; role: Role }> {
  const tokenHash = hashToken(token);
  // Serialize with the organization's deletion and membership changes: a member added by a concurrent
  // accept must never be dropped by a deletion that then publishes no removal for it.
  const target = await invites.inviteByTokenHash(trx, tokenHash);
  if (target) await organizations.lockOrganization(trx, target.organization_id);
  const invite = await invites.acceptPendingInvite(trx, tokenHash, caller.email, caller.id);
  if (!invite) {
    const existing = await invites.inviteByTokenHash(trx, tokenHash);
    if (!existing || existing.status !== 'pending') throw INVITE_ERRORS.invalid();
    if (existing.effective_status === 'expired') throw INVITE_ERRORS.expired();
    if (canonicalEmail(existing.email) !== canonicalEmail(caller.email)) throw INVITE_ERRORS.emailMismatch();
    throw INVITE_ERRORS.invalid();
  }
  // After the contract's checks of the invite itself: only the addressee learns the address needs
  // verifying (throwing rolls the accept back; the invite stays pending).
  if (!(await callerEmailVerified(ctx, trx, caller))) throw INVITE_ERRORS.emailNotVerified();
  await memberships.ensureProfile(trx, caller);
  const membership = await memberships.insertMembership(trx, { organizationId: invite.organization_id, userId: caller.id, role: invite.role });
  if (!membership) throw INVITE_ERRORS.alreadyMember(); // rolls the accept back: the invite stays pending
  const org = (await organizations.organizationForUser(trx, invite.organization_id, caller.id))!;
  const user = (await memberships.profileOf(trx, caller.id))!;
  await ctx.outbox.add(
    trx,
    inviteEvent('tenancy.invite.accepted', invite, org, caller),
    membershipAdded({ organizationId: org.id, user, role: invite.role, version: membership.version }, caller),
  );
  return { organization: org, role: invite.role };
}
