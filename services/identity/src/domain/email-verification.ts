// Email verification: a single-use link valid 48 hours is mailed at registration (and on request, replacing
// the previous one); using it marks the address verified and tells the other services (identity.user.updated).
import { randomUUID } from 'node:crypto';
import { afterCommit, AppError, type AuthUser, inTransaction, type Knex, linkWithToken, queueMail } from '@taskflow/shared';
import { consumeAccountToken, findAccountToken, replaceAccountToken } from '../db/account-tokens';
import { findActiveUserById, markEmailVerified, type UserRow } from '../db/users';
import type { Anonymous, IdentityDeps } from './context';
import { hashRefreshToken as hashToken, newRefreshToken as newToken } from './tokens';

export const VERIFICATION_TTL_SECONDS = 48 * 3600;

export const VERIFICATION_ERRORS = {
  invalid: () => new AppError(400, 'invalid_verification_token', 'Invalid verification link'),
  expired: () => new AppError(400, 'verification_token_expired', 'Verification link expired'),
};

/** Stores a new verification token for the user (the old one stops working) and queues its mail. */
export async function queueVerificationMail(deps: IdentityDeps, trx: Knex.Transaction, user: Pick<UserRow, 'id' | 'email' | 'first_name'>): Promise<void> {
  const token = newToken();
  await replaceAccountToken(trx, { hash: token.hash, userId: user.id, purpose: 'verify_email', ttlSeconds: VERIFICATION_TTL_SECONDS });
  await queueMail(trx, {
    id: randomUUID(),
    to: user.email,
    subject: 'Verify your email address for TaskFlow',
    text: [
      `Welcome to TaskFlow. Confirm that ${user.email} is your address (POST to this link, or open it in the TaskFlow app):`,
      linkWithToken(deps.mail.verifyEmailUrl, token.token),
      '',
      'The link works once, for 48 hours. Until then you can use TaskFlow but not accept invitations.',
      'If you did not create this account, ignore this message.',
    ].join('\n'),
  });
}

/** Records the verified address and its identity.user.updated event (nothing when it already was verified). */
export async function recordEmailVerified(deps: IdentityDeps, trx: Knex.Transaction, userId: string): Promise<void> {
  const user = await markEmailVerified(trx, userId);
  if (!user) return;
  await deps.outbox.add(trx, {
    type: 'identity.user.updated',
    organization_id: null,
    actor: { id: user.id, email: user.email },
    data: {
      user: { id: user.id, email: user.email, first_name: user.first_name, last_name: user.last_name },
      version: user.version,
      email_verified: true,
    },
  });
}

/** Uses a verification token; returns the user, now verified. Unknown or used: invalid; past 48 h: expired. */
export async function verifyEmail(deps: IdentityDeps, _actor: Anonymous, { token }: { token: string }): Promise<UserRow> {
  const hash = hashToken(token);
  const verified = await inTransaction(deps.db, async (trx) => {
    const userId = await consumeAccountToken(trx, hash, 'verify_email');
    if (!userId) return undefined;
    await recordEmailVerified(deps, trx, userId);
    return findActiveUserById(trx, userId);
  });
  if (verified) return verified;
  const stored = await findAccountToken(deps.db, hash, 'verify_email');
  if (stored && stored.used_at === null && stored.expired) throw VERIFICATION_ERRORS.expired();
  throw VERIFICATION_ERRORS.invalid();
}

/** Mails a new link (the old one stops working); an address already verified gets none. */
export async function resendVerification(deps: IdentityDeps, actor: AuthUser): Promise<void> {
  await inTransaction(deps.db, async (trx) => {
    const user = await findActiveUserById(trx, actor.id);
    if (!user || user.email_verified) return;
    await queueVerificationMail(deps, trx, user);
    afterCommit(trx, deps.mailQueued);
  });
}
