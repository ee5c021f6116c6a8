// The identity Koa app (no listen): the shared base plus the auth routes.
import { type AccessTokenVerifier, type Broker, createApp, type Knex, type Logger, type Outbox, pingDb, type ServiceApp } from '@taskflow/shared';
import type { IdentityConfig } from './config';
import type { IdentityDeps } from './domain/context';
import type { SigningKeys } from './domain/signing-keys';
import { authRoutes } from './http/auth-routes';

/** What the composition root hands the app. */
export interface IdentityAppOptions {
  config: IdentityConfig;
  logger: Logger;
  db: Knex;
  outbox: Outbox;
  keys: SigningKeys;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  /** Carries identity.user.* events; readiness depends on it when given. */
  broker?: Broker;
  /** Sends the mail outbox; woken after a transaction queued mail. */
  mailer?: { wake(): void };
}

export function identityDeps({ config, db, outbox, keys, mailer }: Pick<IdentityAppOptions, 'config' | 'db' | 'outbox' | 'keys' | 'mailer'>): IdentityDeps {
  return {
    db,
    outbox,
    keys,
    mail: { verifyEmailUrl: config.VERIFY_EMAIL_URL, passwordResetUrl: config.PASSWORD_RESET_URL },
    mailQueued: () => mailer?.wake(),
    settings: {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      scryptCost: config.PASSWORD_SCRYPT_COST,
    },
  };
}

export function buildApp(options: IdentityAppOptions): ServiceApp {
  return createApp({
    service: 'identity',
    logger: options.logger,
    readiness: { database: () => pingDb(options.db), ...(options.broker ? { broker: () => options.broker!.ping() } : {}) },
    routes: [authRoutes(identityDeps(options), options.verifier)],
  });
}
