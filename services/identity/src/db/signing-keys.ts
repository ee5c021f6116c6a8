// Signing keys kept in the database (development and test only): every SQL statement on identity.signing_keys.
import type { Knex } from '@taskflow/shared';

export interface SigningKeyRow {
  kid: string;
  private_key_pem: string;
  public_jwk: Record<string, unknown>;
  active: boolean;
  created_at: Date;
}

const KEYS = 'identity.signing_keys';

/** The active key first, then the most recent retired one (at most two rows). */
export async function listCurrentSigningKeys(db: Knex): Promise<SigningKeyRow[]> {
  return db<SigningKeyRow>(KEYS).orderBy([{ column: 'active', order: 'desc' }, { column: 'created_at', order: 'desc' }]).limit(2);
}

/**
 * Stores `key` as the active key unless another one is already active (the partial unique index on
 * `active` decides between replicas starting at once; the loser's key is simply dropped).
 */
export async function insertActiveSigningKeyIfNone(db: Knex, key: Pick<SigningKeyRow, 'kid' | 'private_key_pem' | 'public_jwk'>): Promise<void> {
  await db.raw(`insert into ${KEYS} (kid, private_key_pem, public_jwk, active) values (?, ?, ?::jsonb, true) on conflict do nothing`, [
    key.kid,
    key.private_key_pem,
    JSON.stringify(key.public_jwk),
  ]);
}
