// An invite carries its sender's authority: it does not outlive its sender's membership or role.
// Runs under the organization's row lock, like invite creation and accept.
import type { Knex, Role } from '@taskflow/shared';
import * as invites from '../db/invites';
import type { Caller, TenancyContext } from './context';
import { inviteEvent } from './events';
import { invitesBeyondAuthority } from './policy';

interface OrgRef {
  id: string;
  name: string;
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
