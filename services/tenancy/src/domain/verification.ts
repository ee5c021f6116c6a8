// Whether the caller's address is verified (only then may they see and accept its invites). The profile
// replica, fed by identity's user events, answers first; a caller it does not know as verified may have
// verified a moment ago (the event lags), so identity is asked with the caller's own access token, and a
// "yes" is kept in the replica. Identity unreachable: 503, never a guess.
import { type Knex, unavailable } from '@taskflow/shared';
import { isEmailVerified, markEmailVerified } from '../db/memberships';
import type { Caller, TenancyContext } from './context';

/** Identity's view of the account behind an access token. */
export interface AccountLookup {
  /** True or false from identity; throws when identity cannot answer. */
  emailVerified(caller: Caller, accessToken: string): Promise<boolean>;
}

export async function callerEmailVerified(ctx: TenancyContext, db: Knex | Knex.Transaction, caller: Caller): Promise<boolean> {
  if (await isEmailVerified(db, caller.id, caller.email)) return true;
  if (!caller.accessToken) return false;
  let verified: boolean;
  try {
    verified = await ctx.accounts.emailVerified(caller, caller.accessToken);
  } catch {
    throw unavailable('Email verification cannot be checked right now; retry shortly.');
  }
  if (verified) await markEmailVerified(db, caller);
  return verified;
}
