// Starts identity in-process on a free port, for end-to-end tests and the gateway's tests.
import { createLogger, type RunningService } from '@taskflow/shared';
import { loadIdentityConfig } from '../src/config';
import { startIdentityService } from '../src/service';

/**
 * Migrates the `identity` schema of `databaseUrl`, loads (or creates) the signing key and listens on
 * port 0. With `amqpUrl` it also publishes its events (broker + outbox relay). `scryptCost` lowers the
 * password hashing cost (default 1024 here, for speed). Logs are silent unless LOG_LEVEL is set.
 */
export async function startIdentity(options: {
  databaseUrl: string;
  amqpUrl?: string;
  scryptCost?: number;
  /** Development mail directory (default: `.dev-mail` in the working directory). */
  mailOutboxDir?: string;
  /** More settings, as environment variables. */
  env?: Record<string, string>;
}): Promise<RunningService> {
  const config = loadIdentityConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    ...(options.amqpUrl ? { AMQP_URL: options.amqpUrl } : {}),
    ...(options.mailOutboxDir ? { MAIL_OUTBOX_DIR: options.mailOutboxDir } : {}),
    PASSWORD_SCRYPT_COST: String(options.scryptCost ?? 1024),
    ...options.env,
  });
  return startIdentityService(config, createLogger('identity', config.LOG_LEVEL), {
    port: 0,
    closeGraceMs: 1000,
    poolMax: 5,
    publishEvents: options.amqpUrl !== undefined,
    mailPollMs: 500,
  });
}
