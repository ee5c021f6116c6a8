// An invite carries its sender's authority: it may be replaced only by someone who could have sent it, and
// it does not outlive its sender's membership or role. Both run under the organization's row lock.
import type { Knex, Role } from '@taskflow/shared';
import * as invites from '../db/invites';
import { type Caller, enforce, type TenancyContext } from './context';
import { inviteEvent } from './events';
import { decide, invitesBeyondAuthority } from './policy';

interface OrgRef {
  id: string;
  name: string;
}

/** Re-inviting an address replaces its pending invite only if the caller could have sent that invite (else 403). */
export async function ensureMayReplacePendingInvite(trx: Knex.Transaction, organizationId: string, callerRole: Role, email: string): Promise<void> {
  const pending = await invites.lockPendingInviteTo(trx, organizationId, email);
  if (pending) enforce(decide('create_invite', callerRole, { role: pending.role }));
}

/**
 * After `senderId` left, was removed (`role` null) or changed role: revokes their pending invites that role
 * could not send, in the caller's transaction, with the event a manual revoke publishes.
 */
export async function revokeInvitesBeyondAuthority(
  ctx: TenancyContext,
  trx: Knex.Transaction,
  org: OrgRef,
  senderId: string,
  role: Role | null,
  actor: Caller,
): Promise<void> {
  const revoked = await invites.revokePendingInvitesSentBy(trx, org.id, senderId, invitesBeyondAuthority(role));
  if (revoked.length > 0) await ctx.outbox.add(trx, ...revoked.map((invite) => inviteEvent('tenancy.invite.revoked', invite, org, actor)));
}
