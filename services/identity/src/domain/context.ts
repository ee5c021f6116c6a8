// What the identity use cases need: the database, the signing keys and the token and password settings.
import type { Knex } from '@taskflow/shared';
import type { SigningKeys } from './signing-keys';

export interface IdentitySettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** scrypt N for new password hashes. */
  scryptCost: number;
}

export interface IdentityContext {
  db: Knex;
  keys: SigningKeys;
  settings: IdentitySettings;
}
