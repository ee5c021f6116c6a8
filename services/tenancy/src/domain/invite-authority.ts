// An invite carries its sender's authority: it may be replaced only by someone who could have sent it, and
// it does not outlive its sender's membership or role. Both run under the organization's row lock.
import type { Knex, Role } from '@taskflow/shared';
import * as invites from '../db/invites';
import type { Actor, TenancyDeps } from './context';
import { inviteEvent } from './events';
import { authorize, invitesBeyondAuthority } from './policy';

interface OrgRef {
  id: string;
  name: string;
}

/** Re-inviting an address replaces its pending invite only if the actor could have sent that invite (else 403). */
export async function ensureMayReplacePendingInvite(trx: Knex.Transaction, organizationId: string, callerRole: Role, email: string): Promise<void> {
  const pending = await invites.lockPendingInviteTo(trx, organizationId, email);
  if (pending) authorize(callerRole, 'invite.create', { role: pending.role });
}

/**
 * After `senderId` left, was removed (`role` null) or changed role: revokes their pending invites that role
 * could not send, in the actor's transaction, with the event a manual revoke publishes.
 */
export async function revokeInvitesBeyondAuthority(
  deps: TenancyDeps,
  trx: Knex.Transaction,
  org: OrgRef,
  senderId: string,
  role: Role | null,
  actor: Actor,
): Promise<void> {
  const revoked = await invites.revokePendingInvitesSentBy(trx, org.id, senderId, invitesBeyondAuthority(role));
  if (revoked.length > 0) await deps.outbox.add(trx, ...revoked.map((invite) => inviteEvent('tenancy.invite.revoked', invite, org, actor)));
}
