// The identity Koa app (no listen): the shared base plus the auth routes.
import { type Broker, createApp, type Knex, type Logger, pingDb, type ServiceApp } from '@taskflow/shared';
import type { IdentityConfig } from './config';
import type { IdentityContext } from './domain/context';
import type { SigningKeys } from './domain/signing-keys';
import { authRoutes } from './http/auth-routes';

export interface IdentityDeps {
  config: IdentityConfig;
  logger: Logger;
  db: Knex;
  keys: SigningKeys;
  /** Carries identity.user.* events; readiness depends on it when given. */
  broker?: Broker;
  /** Sends the mail outbox; woken after a transaction queued mail. */
  mailer?: { wake(): void };
}

export function identityContext({ config, db, keys, mailer }: Pick<IdentityDeps, 'config' | 'db' | 'keys' | 'mailer'>): IdentityContext {
  return {
    db,
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

export function buildApp(deps: IdentityDeps): ServiceApp {
  return createApp({
    service: 'identity',
    logger: deps.logger,
    readiness: { database: () => pingDb(deps.db), ...(deps.broker ? { broker: () => deps.broker!.ping() } : {}) },
    routes: [authRoutes(identityContext(deps))],
  });
}
