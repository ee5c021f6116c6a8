// Sessions: a refresh-token family per login; rotation on refresh, theft detection on reuse, logout.
import { randomUUID } from 'node:crypto';
import { inTransaction, invalidToken, type Knex } from '@taskflow/shared';
import { claimRefreshToken, findRefreshToken, insertRefreshToken, revokeFamily } from '../db/refresh-tokens';
import { findActiveUserById } from '../db/users';
import type { Anonymous, IdentityDeps } from './context';
import { hashRefreshToken, newRefreshToken, signAccessToken, type TokenPair } from './tokens';

/** Issues an access token and a new refresh token in `familyId` (a new family for a new login). */
export async function issueTokens(
  db: Knex,
  deps: IdentityDeps,
  user: { id: string; email: string },
  familyId: string = randomUUID(),
): Promise<TokenPair> {
  const refresh = newRefreshToken();
  await insertRefreshToken(db, { tokenHash: refresh.hash, familyId, userId: user.id, ttlSeconds: deps.settings.refreshTokenTtlSeconds });
  return {
    access: signAccessToken(deps.keys, deps.settings, user),
    refresh: refresh.token,
    token_type: 'Bearer',
    expires_in: deps.settings.accessTokenTtlSeconds,
  };
}

type RefreshOutcome = { ok: true; tokens: TokenPair } | { ok: false };

/**
 * Exchanges a refresh token for a new access token and a new refresh token of the same family.
 * A token that was already used or revoked revokes its whole family (someone replayed it: theft or
 * a client bug) and, like an unknown or expired token, answers 401 `token_not_valid`.
 */
export async function refreshSession(deps: IdentityDeps, _actor: Anonymous, { refresh: refreshToken }: { refresh: string }): Promise<TokenPair> {
  const hash = hashRefreshToken(refreshToken);
  // The revocation must commit, so the transaction returns an outcome and the 401 is thrown after it.
  const outcome = await inTransaction(deps.db, async (trx): Promise<RefreshOutcome> => {
    const claimed = await claimRefreshToken(trx, hash);
    if (claimed) {
      const user = await findActiveUserById(trx, claimed.user_id);
      if (!user) return { ok: false };
      return { ok: true, tokens: await issueTokens(trx, deps, user, claimed.family_id) };
    }
    const stored = await findRefreshToken(trx, hash);
    if (stored && (stored.used_at !== null || stored.revoked_at !== null)) await revokeFamily(trx, stored.family_id);
    return { ok: false };
  });
  if (!outcome.ok) throw invalidToken();
  return outcome.tokens;
}

/**
 * Ends the session the refresh token belongs to: that token and every token rotated from it (its
 * whole family) stop working. Holding the refresh token is the credential (it could mint access
 * tokens anyway), so no access token is needed. An unknown or expired token changes nothing and is
 * not reported, so logout cannot be used to probe tokens.
 */
export async function endSession(deps: IdentityDeps, _actor: Anonymous, { refresh: refreshToken }: { refresh: string }): Promise<void> {
  const stored = await findRefreshToken(deps.db, hashRefreshToken(refreshToken));
  if (stored) await revokeFamily(deps.db, stored.family_id);
}
