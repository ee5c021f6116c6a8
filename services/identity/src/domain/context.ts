// What the identity use cases need (`deps`): the database, the outbox, the signing keys, the token and password settings, and the mail links.
import type { Knex, Outbox } from '@taskflow/shared';
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

export interface IdentityDeps {
  db: Knex;
  /** identity.user.* events leave through it, written in the transaction of the change. */
  outbox: Outbox;
  keys: SigningKeys;
  settings: IdentitySettings;
  mail: MailLinks;
  /** Called once a transaction that queued mail has committed (`afterCommit`). */
  mailQueued(): void;
}

/** The caller of a public endpoint (register, login, links from mail): nobody signed in. */
export type Anonymous = null;
export const anonymous: Anonymous = null;
