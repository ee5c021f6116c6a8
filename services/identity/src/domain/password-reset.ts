// Password reset by mail: a single-use link valid 1 hour. Asking never reveals whether the account exists
// (the same answer, and the same statements, either way); using the link sets the password, ends every
// session of the user and, since the mail reached its owner, counts as verifying the address.
import { randomUUID } from 'node:crypto';
import { afterCommit, AppError, inTransaction, type Knex, linkWithToken, queueMailToSelected, validationFailed } from '@taskflow/shared';
import { consumeAccountToken, findAccountToken, replaceAccountTokenOfSelected, retireAccountTokens } from '../db/account-tokens';
import { revokeAllFamiliesOfUser } from '../db/refresh-tokens';
import { activeUserByEmail, findActiveUserById, updatePasswordHash } from '../db/users';
import type { Anonymous, IdentityDeps } from './context';
import { recordEmailVerified } from './email-verification';
import { hashPassword, PASSWORD_SIMILAR_TO_EMAIL, passwordIsEmail, passwordProblems } from './passwords';
import { hashRefreshToken as hashToken, newRefreshToken as newToken } from './tokens';

export const RESET_TTL_SECONDS = 3600;

export const RESET_ERRORS = {
  invalid: () => new AppError(400, 'invalid_reset_token', 'Invalid password reset link'),
  expired: () => new AppError(400, 'reset_token_expired', 'Password reset link expired'),
};

/** Queues a reset link for the active account of `email`, if there is one; the caller always answers 202. */
export async function requestPasswordReset(deps: IdentityDeps, _actor: Anonymous, { email }: { email: string }): Promise<void> {
  const token = newToken();
  const account = (db: Knex) => activeUserByEmail(db, email);
  await inTransaction(deps.db, async (trx) => {
    await replaceAccountTokenOfSelected(trx, { hash: token.hash, purpose: 'reset_password', ttlSeconds: RESET_TTL_SECONDS }, account(trx));
    await queueMailToSelected(
      trx,
      {
        id: randomUUID(),
        subject: 'Reset your TaskFlow password',
        text: [
          'Someone asked to reset the password of the TaskFlow account of this address. To choose a new password, POST it to this link (or open it in the TaskFlow app):',
          linkWithToken(deps.mail.passwordResetUrl, token.token),
          '',
          'The link works once, for 1 hour, and signs you out everywhere. If you did not ask for it, ignore this message: your password stays as it is.',
        ].join('\n'),
      },
      account(trx).select({ to_address: 'email' }),
    );
    afterCommit(trx, deps.mailQueued);
  });
}

/** Sets a new password with a reset token: every refresh-token family of the user is revoked. */
export async function resetPassword(deps: IdentityDeps, _actor: Anonymous, { token, password }: { token: string; password: string }): Promise<void> {
  const hash = hashToken(token);
  const stored = await findAccountToken(deps.db, hash, 'reset_password');
  if (!stored || stored.used_at !== null) throw RESET_ERRORS.invalid();
  if (stored.expired) throw RESET_ERRORS.expired();
  const user = await findActiveUserById(deps.db, stored.user_id);
  if (!user) throw RESET_ERRORS.invalid();
  // The same rules as at registration; a refused password leaves the link usable.
  const problems = passwordProblems(password);
  if (passwordIsEmail(password, user.email)) problems.push(PASSWORD_SIMILAR_TO_EMAIL);
  if (problems.length > 0) throw validationFailed({ password: problems });
  const passwordHash = await hashPassword(password, deps.settings.scryptCost);
  const done = await inTransaction(deps.db, async (trx) => {
    // Conditional, so of two concurrent uses of one link exactly one sets the password.
    if ((await consumeAccountToken(trx, hash, 'reset_password')) !== user.id) return false;
    await updatePasswordHash(trx, user.id, passwordHash);
    await revokeAllFamiliesOfUser(trx, user.id);
    await retireAccountTokens(trx, user.id, 'reset_password');
    await recordEmailVerified(deps, trx, user.id);
    return true;
  });
  if (!done) throw RESET_ERRORS.invalid();
}
