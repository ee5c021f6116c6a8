// Single-use tokens mailed to a user (email verification, password reset): every SQL statement on
// identity.account_tokens. Tokens are known here only by their SHA-256 hash.
import type { Knex } from '@taskflow/shared';

const TOKENS = 'identity.account_tokens';

export type TokenPurpose = 'verify_email' | 'reset_password';

export interface StoredAccountToken {
  user_id: string;
  used_at: Date | null;
  expired: boolean;
}

/** Forgets the user's earlier tokens of this purpose (a new link replaces the old ones) and stores the new one. */
export async function replaceAccountToken(trx: Knex.Transaction, token: { hash: Buffer; userId: string; purpose: TokenPurpose; ttlSeconds: number }): Promise<void> {
  await trx(TOKENS).where({ user_id: token.userId, purpose: token.purpose }).delete();
  await trx(TOKENS).insert({
    token_hash: token.hash,
    user_id: token.userId,
    purpose: token.purpose,
    expires_at: trx.raw("now() + ? * interval '1 second'", [token.ttlSeconds]),
  });
}

/**
 * The same as replaceAccountToken for the active account that `user` (a query on identity.users)
 * selects, or nothing when it selects none: the same statements run either way.
 */
export async function replaceAccountTokenOfSelected(
  trx: Knex.Transaction,
  token: { hash: Buffer; purpose: TokenPurpose; ttlSeconds: number },
  user: Knex.QueryBuilder,
): Promise<void> {
  await trx(TOKENS).where({ purpose: token.purpose }).whereIn('user_id', user.clone().select('id')).delete();
  await trx.raw(
    `insert into ${TOKENS} (token_hash, user_id, purpose, expires_at)
     select ?, u.id, ?, now() + ? * interval '1 second' from (?) u limit 1`,
    [token.hash, token.purpose, token.ttlSeconds, user.clone().select('id')],
  );
}

/** Marks the token used if, and only if, it is still usable: one statement, so of concurrent uses exactly one wins. */
export async function consumeAccountToken(db: Knex, hash: Buffer, purpose: TokenPurpose): Promise<string | undefined> {
  const [row] = await db(TOKENS)
    .where({ token_hash: hash, purpose })
    .whereNull('used_at')
    .andWhere('expires_at', '>', db.fn.now())
    .update({ used_at: db.fn.now() })
    .returning('user_id');
  return (row as { user_id: string } | undefined)?.user_id;
}

export async function findAccountToken(db: Knex, hash: Buffer, purpose: TokenPurpose): Promise<StoredAccountToken | undefined> {
  return db(TOKENS).where({ token_hash: hash, purpose }).first('user_id', 'used_at', db.raw('expires_at <= now() as expired'));
}

/** Every unused token of this purpose of the user stops working. */
export async function retireAccountTokens(db: Knex, userId: string, purpose: TokenPurpose): Promise<void> {
  await db(TOKENS).where({ user_id: userId, purpose }).whereNull('used_at').update({ used_at: db.fn.now() });
}
