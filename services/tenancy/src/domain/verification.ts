// Whether the actor's address is verified (only then may they see and accept its invites). The profile
// replica, fed by identity's user events, answers first; a actor it does not know as verified may have
// verified a moment ago (the event lags), so identity is asked with the actor's own access token, and a
// "yes" is kept in the replica. Identity unreachable: 503, never a guess.
import { type Knex, unavailable } from '@taskflow/shared';
import { isEmailVerified, markEmailVerified } from '../db/memberships';
import type { Actor, TenancyDeps } from './context';

/** Identity's view of the account behind an access token. */
export interface AccountLookup {
  /** True or false from identity; throws when identity cannot answer. */
  emailVerified(actor: Actor, accessToken: string): Promise<boolean>;
}

export async function callerEmailVerified(deps: TenancyDeps, db: Knex | Knex.Transaction, actor: Actor): Promise<boolean> {
  if (await isEmailVerified(db, actor.id, actor.email)) return true;
  if (!actor.accessToken) return false;
  let verified: boolean;
  try {
    verified = await deps.accounts.emailVerified(actor, actor.accessToken);
  } catch {
    throw unavailable('Email verification cannot be checked right now; retry shortly.');
  }
  if (verified) await markEmailVerified(db, actor);
  return verified;
}
