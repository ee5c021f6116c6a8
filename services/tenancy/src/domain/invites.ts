// Invites: send (replacing a pending one to the same address), list, revoke, accept.
// The token exists in clear only in the create response and in the queued mail; the table keeps its hash.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterCommit, AppError, canonicalEmail, conflict, emptyJsonPage, inTransaction, type JsonPage, type KeyValue, linkWithToken, notFound, plainTextLine, queueMail, type Role, validationFailed } from '@taskflow/shared';
import * as invites from '../db/invites';
import type { InviteRow, InviteStatus } from '../db/invites';
import * as memberships from '../db/memberships';
import * as organizations from '../db/organizations';
import type { Actor, TenancyDeps } from './context';
import { inviteEvent, membershipAdded } from './events';
import { ensureMayReplacePendingInvite } from './invite-authority';
import type { OrganizationView } from './organizations';
import { authorize } from './policy';
import { callerEmailVerified } from './verification';

export type { InviteRow } from '../db/invites';
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

/** Sends an invite; the returned token exists in clear only here and in the queued mail. */
export async function createInvite(
  deps: TenancyDeps,
  actor: Actor,
  input: { organization: string; email: string; role: Role },
): Promise<{ invite: InviteRow; token: string }> {
  return inTransaction(deps.db, async (trx) => {
    // Locking the organization serializes invites to it, so "one pending invite per address" never races.
    const org = await organizations.lockOrganization(trx, input.organization);
    const me = org && (await memberships.membershipOf(trx, input.organization, actor.id));
    if (!org || !me) throw validationFailed({ organization: ['Organization not found.'] });
    authorize(me.role, 'invite.create', { role: input.role });
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
      invitedBy: actor.id,
      ttlMs: INVITE_TTL_MS,
    });
    // The organization's name is the inviter's text: the body carries it as one plain line, never a header.
    await queueMail(trx, {
      id: randomUUID(),
      to: invite.email,
      subject: 'You are invited to join an organization on TaskFlow',
      text: [
        `${actor.email} invited you to join the organization "${plainTextLine(org.name)}" on TaskFlow as ${invite.role}.`,
        '',
        `Accept the invitation (sign in as ${invite.email} first):`,
        acceptLink(deps.mail.inviteAcceptUrl, token),
        '',
        `The invitation expires at ${invite.expires_at.toISOString()}.`,
      ].join('\n'),
    });
    await deps.outbox.add(
      trx,
      ...replaced.filter((r) => r.status === 'revoked').map((r) => inviteEvent('tenancy.invite.revoked', r, org, actor)),
      inviteEvent('tenancy.invite.sent', invite, org, actor),
    );
    afterCommit(trx, deps.mailQueued);
    return { invite, token };
  });
}

export async function listInvites(
  deps: TenancyDeps,
  actor: Actor,
  organizationId: string,
  status: InviteStatus | undefined,
  limit: number,
  after?: readonly KeyValue[],
): Promise<JsonPage> {
  const me = await memberships.membershipOf(deps.db, organizationId, actor.id);
  authorize(me?.role ?? null, 'invite.list');
  return invites.listInvites(deps.db, organizationId, { status }, limit, after);
}

/** An unverified address sees none: whoever registered it may not own it. */
export async function listMyInvites(deps: TenancyDeps, actor: Actor, limit: number, after?: readonly KeyValue[]): Promise<JsonPage> {
  if (!(await callerEmailVerified(deps, deps.db, actor))) return emptyJsonPage;
  return invites.listPendingInvitesTo(deps.db, actor.email, limit, after);
}

/** Revokes a pending invite; revoking a revoked one again changes nothing. */
export async function revokeInvite(deps: TenancyDeps, actor: Actor, { id: inviteId }: { id: string }): Promise<void> {
  await inTransaction(deps.db, async (trx) => {
    const invite = await invites.inviteById(trx, inviteId);
    const org = invite && (await organizations.organizationForUser(trx, invite.organization_id, actor.id));
    if (!invite || !org) throw notFound();
    authorize(org.role, 'invite.revoke', { role: invite.role });
    if (invite.status === 'revoked') return;
    const revoked = await invites.revokeInvite(trx, inviteId);
    if (!revoked) throw conflict('Only a pending invite can be revoked.', 'invite_not_pending');
    await deps.outbox.add(trx, inviteEvent('tenancy.invite.revoked', revoked, org, actor));
  });
}

/**
 * Accepts with one conditional update (pending, unexpired, addressed to the actor), so of concurrent
 * accepts exactly one wins. When it matches nothing, the invite is read to say why, in the contract's order.
 */
export async function acceptInvite(deps: TenancyDeps, actor: Actor, { token }: { token: string }): Promise<{ organization: OrganizationView; role: Role }> {
  return inTransaction(deps.db, async (trx) => {
    const tokenHash = hashToken(token);
    // Serialize with the organization's deletion and membership changes: a member added by a concurrent
    // accept must never be dropped by a deletion that then publishes no removal for it.
    const target = await invites.inviteByTokenHash(trx, tokenHash);
    if (target) await organizations.lockOrganization(trx, target.organization_id);
    const invite = await invites.acceptPendingInvite(trx, tokenHash, actor.email, actor.id);
    if (!invite) {
      const existing = await invites.inviteByTokenHash(trx, tokenHash);
      if (!existing || existing.status !== 'pending') throw INVITE_ERRORS.invalid();
      if (existing.effective_status === 'expired') throw INVITE_ERRORS.expired();
      if (canonicalEmail(existing.email) !== canonicalEmail(actor.email)) throw INVITE_ERRORS.emailMismatch();
      throw INVITE_ERRORS.invalid();
    }
    // After the contract's checks of the invite itself: only the addressee learns the address needs
    // verifying (throwing rolls the accept back; the invite stays pending).
    if (!(await callerEmailVerified(deps, trx, actor))) throw INVITE_ERRORS.emailNotVerified();
    await memberships.ensureProfile(trx, actor);
    const membership = await memberships.insertMembership(trx, { organizationId: invite.organization_id, userId: actor.id, role: invite.role });
    if (!membership) throw INVITE_ERRORS.alreadyMember(); // rolls the accept back: the invite stays pending
    const org = (await organizations.organizationForUser(trx, invite.organization_id, actor.id))!;
    const user = (await memberships.profileOf(trx, actor.id))!;
    await deps.outbox.add(
      trx,
      inviteEvent('tenancy.invite.accepted', invite, org, actor),
      membershipAdded({ organizationId: org.id, user, role: invite.role, version: membership.version }, actor),
    );
    return { organization: org, role: invite.role };
  });
}
