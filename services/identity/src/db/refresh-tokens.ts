// Refresh tokens: every SQL statement on identity.refresh_tokens (tokens are known here only by their hash).
import type { Knex } from '@taskflow/shared';

const TOKENS = 'identity.refresh_tokens';

export interface NewRefreshToken {
  tokenHash: Buffer;
  familyId: string;
  userId: string;
  ttlSeconds: number;
}

export interface ClaimedToken {
  family_id: string;
  user_id: string;
}

export interface StoredToken extends ClaimedToken {
  used_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date;
}

export async function insertRefreshToken(db: Knex, token: NewRefreshToken): Promise<void> {
  await db(TOKENS).insert({
    token_hash: token.tokenHash,
    family_id: token.familyId,
    user_id: token.userId,
    expires_at: db.raw("now() + ? * interval '1 second'", [token.ttlSeconds]),
  });
}

/**
 * Marks the token used if, and only if, it is still usable; one statement, so of two concurrent
 * claims exactly one gets the row (the other waits for the row lock, then no longer matches).
 */
export async function claimRefreshToken(db: Knex, tokenHash: Buffer): Promise<ClaimedToken | undefined> {
  const rows: ClaimedToken[] = await db(TOKENS)
    .update({ used_at: db.fn.now() })
    .where({ token_hash: tokenHash })
    .whereNull('used_at')
    .whereNull('revoked_at')
    .andWhere('expires_at', '>', db.fn.now())
    .returning(['family_id', 'user_id']);
  return rows[0];
}

export async function findRefreshToken(db: Knex, tokenHash: Buffer): Promise<StoredToken | undefined> {
  const row: StoredToken | undefined = await db(TOKENS)
    .first('family_id', 'user_id', 'used_at', 'revoked_at', 'expires_at')
    .where({ token_hash: tokenHash });
  return row;
}

/** Revokes every token of the family that is not revoked yet; returns how many. */
export async function revokeFamily(db: Knex, familyId: string): Promise<number> {
  return db(TOKENS).where({ family_id: familyId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
}

/** Revokes every family of the user (every session, on every device); returns how many tokens. */
export async function revokeAllFamiliesOfUser(db: Knex, userId: string): Promise<number> {
  return db(TOKENS).where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() });
}

/** Deletes tokens past their expiry: they are refused whatever their state, so nothing needs them. */
export async function deleteExpiredRefreshTokens(db: Knex): Promise<number> {
  return db(TOKENS).where('expires_at', '<', db.fn.now()).delete();
}
