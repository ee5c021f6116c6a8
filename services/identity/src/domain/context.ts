// What the identity use cases need: the database, the signing keys, the token and password settings, and the mail links.
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

export interface MailLinks {
  /** Contains `{token}`. */
  verifyEmailUrl: string;
  /** Contains `{token}`. */
  passwordResetUrl: string;
}

export interface IdentityContext {
  db: Knex;
  keys: SigningKeys;
  settings: IdentitySettings;
  mail: MailLinks;
  /** Called after a transaction that queued mail has committed. */
  mailQueued(): void;
}
