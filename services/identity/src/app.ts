// The identity Koa app (no listen): the shared base plus the auth routes.
import { type AccessTokenVerifier, type Broker, createApp, FairUse, type Knex, type Logger, type Outbox, pingDb, type ServiceApp } from '@taskflow/shared';
import type { Context } from 'koa';
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

/** The routes that run scrypt (`${method} ${path}`, the shared route names). */
const HASHING_ROUTES = new Set(['post /api/v1/auth/register', 'post /api/v1/auth/login', 'post /api/v1/auth/password-reset/:token']);

/**
 * The client a hashing request counts against: the address the gateway forwards (it overwrites
 * X-Forwarded-For with the one client address it derived), else the peer. Only a fairness key: a
 * caller that reaches identity directly and invents addresses still meets the process-wide cap.
 */
function hashingClient(ctx: Context): string | undefined {
  if (!HASHING_ROUTES.has(String(ctx._matchedRouteName))) return undefined;
  return `address:${ctx.get('x-forwarded-for') || ctx.ip}`;
}

/**
 * Admission for password hashing: at most PASSWORD_HASH_CONCURRENCY scrypt requests run at once, one per
 * client address, the rest wait their turn (round-robin between addresses) for at most the queue
 * timeout. A flood of guesses from many addresses then gets fast 429/503 answers instead of a hash
 * queue that grows until every login (and every other use of libuv's threads) times out.
 */
export function passwordHashing(config: Pick<IdentityConfig, 'PASSWORD_HASH_CONCURRENCY' | 'PASSWORD_HASH_QUEUE' | 'PASSWORD_HASH_QUEUE_TIMEOUT_MS'>): FairUse {
  return new FairUse({
    perTenant: 1,
    total: config.PASSWORD_HASH_CONCURRENCY,
    queuePerTenant: config.PASSWORD_HASH_QUEUE,
    queueTimeoutMs: config.PASSWORD_HASH_QUEUE_TIMEOUT_MS,
    tenantOf: hashingClient,
  });
}

export function buildApp(options: IdentityAppOptions): ServiceApp {
  const hashing = passwordHashing(options.config);
  const app = createApp({
    service: 'identity',
    logger: options.logger,
    readiness: { database: () => pingDb(options.db), ...(options.broker ? { broker: () => options.broker!.ping() } : {}) },
    routes: [authRoutes(identityDeps(options), options.verifier, hashing.middleware)],
  });
  app.metrics.include(hashing.metrics.registry);
  return app;
}
