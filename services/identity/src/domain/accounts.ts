// Accounts: registration (which mails the verification link), login and the current user.
import { afterCommit, AppError, inTransaction, validationFailed } from '@taskflow/shared';
import { findActiveUserByEmail, findActiveUserById, insertUser, updatePasswordHash, type UserRow } from '../db/users';
import type { Anonymous, IdentityDeps } from './context';
import { queueVerificationMail } from './email-verification';
import {
  hashPassword,
  needsRehash,
  PASSWORD_SIMILAR_TO_EMAIL,
  passwordIsEmail,
  passwordProblems,
  unmatchableHash,
  verifyPassword,
} from './passwords';
import { issueTokens } from './sessions';
import type { TokenPair } from './tokens';

export interface User {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  /** RFC 3339 UTC with Z. */
  date_joined: string;
  email_verified: boolean;
}

export interface Registration {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
}

export const EMAIL_TAKEN = 'A user with this email already exists.';

export function presentUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    date_joined: row.date_joined.toISOString(),
    email_verified: row.email_verified,
  };
}

export const invalidCredentials = () =>
  new AppError(401, 'invalid_credentials', 'No active account found with the given credentials', undefined, { 'WWW-Authenticate': 'Bearer' });

export const userNotFound = () =>
  new AppError(401, 'user_not_found', 'User not found', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

/** Creates an account and mails its verification link; the email is kept as typed (trimmed) and unique in its canonical form. */
export async function registerUser(deps: IdentityDeps, _actor: Anonymous, input: Registration): Promise<User> {
  const email = input.email.trim();
  const problems = passwordProblems(input.password);
  if (passwordIsEmail(input.password, email)) problems.push(PASSWORD_SIMILAR_TO_EMAIL);
  if (problems.length > 0) throw validationFailed({ password: problems });
  const passwordHash = await hashPassword(input.password, deps.settings.scryptCost);
  return inTransaction(deps.db, async (trx) => {
    const row = await insertUser(trx, {
      email,
      password_hash: passwordHash,
      first_name: input.first_name.trim(),
      last_name: input.last_name.trim(),
    });
    if (!row) throw validationFailed({ email: [EMAIL_TAKEN] });
    const user = presentUser(row);
    await deps.outbox.add(trx, {
      type: 'identity.user.registered',
      organization_id: null,
      actor: { id: user.id, email: user.email },
      data: {
        user: { id: user.id, email: user.email, first_name: user.first_name, last_name: user.last_name },
        date_joined: user.date_joined,
        email_verified: false,
      },
    });
    await queueVerificationMail(deps, trx, row);
    afterCommit(trx, deps.mailQueued);
    return user;
  });
}

/**
 * Checks the credentials and starts a session. An unknown email still costs one scrypt, and both
 * failures answer the same 401, so neither the answer nor its timing tells which one it was.
 */
export async function logIn(deps: IdentityDeps, _actor: Anonymous, credentials: { email: string; password: string }): Promise<TokenPair> {
  const user = await findActiveUserByEmail(deps.db, credentials.email.trim());
  const matches = await verifyPassword(credentials.password, user?.password_hash ?? unmatchableHash(deps.settings.scryptCost));
  if (!user || !matches) throw invalidCredentials();
  if (needsRehash(user.password_hash, deps.settings.scryptCost)) {
    await updatePasswordHash(deps.db, user.id, await hashPassword(credentials.password, deps.settings.scryptCost));
  }
  return issueTokens(deps.db, deps, user);
}

/** The account behind a verified access token; a deleted or deactivated account is a 401. */
export async function currentAccount(deps: IdentityDeps, userId: string): Promise<User> {
  const row = await findActiveUserById(deps.db, userId);
  if (!row) throw userNotFound();
  return presentUser(row);
}
