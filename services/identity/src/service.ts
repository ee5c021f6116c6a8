// The identity service, composed: database + migrations -> signing keys + token verifier -> outbox -> broker + outbox relay
// (identity.user.* events) -> mailer (verification and password reset mail from the shared mail outbox)
// -> app -> listen. `close()` undoes it in reverse.
import {
  AccessTokenVerifier,
  Broker,
  Closers,
  createDb,
  type Logger,
  MAIL_OUTBOX_TABLE,
  Mailer,
  MessagingMetrics,
  type MailTransport,
  mailTransportFor,
  migrate,
  Outbox,
  OutboxRelay,
  runPeriodically,
  type RunningService,
  type StartOptions,
} from '@taskflow/shared';
import { buildApp } from './app';
import type { IdentityConfig } from './config';
import { IDENTITY_SCHEMA, migrations } from './db/migrations';
import { deleteExpiredRefreshTokens } from './db/refresh-tokens';
import { loadSigningKeys, type SigningKeys } from './domain/signing-keys';

export interface IdentityStartOptions extends Omit<StartOptions, 'verifier'> {
  /** Publish identity.user.* events (default true; some tests run identity without a broker). */
  publishEvents?: boolean;
  poolMax?: number;
  /** Any mail transport (tests); default: SMTP when SMTP_URL is set, else files in MAIL_OUTBOX_DIR. */
  mailTransport?: MailTransport;
  mailPollMs?: number;
}

/** Verifies access tokens exactly as every other service does, but reads the keys from memory instead of over HTTP. */
export function localVerifier(config: Pick<IdentityConfig, 'JWT_ISSUER' | 'JWT_AUDIENCE'>, keys: SigningKeys): AccessTokenVerifier {
  return new AccessTokenVerifier({ issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, fetchKeys: async () => keys.jwks });
}

export async function startIdentityService(config: IdentityConfig, logger: Logger, options: IdentityStartOptions = {}): Promise<RunningService> {
  const closers = new Closers();
  return closers.guard(async () => {
    const db = createDb({ url: config.DATABASE_URL, schema: IDENTITY_SCHEMA, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS, poolMax: options.poolMax });
    closers.add(() => db.destroy());
    await migrate(db, IDENTITY_SCHEMA, migrations);
    // Expired refresh tokens are deleted hourly.
    const purge = runPeriodically(3600_000, () => deleteExpiredRefreshTokens(db));
    closers.add(() => purge.stop());
    const keys = await loadSigningKeys(config, db);
    logger.info({ kid: keys.current.kid, keySource: config.JWT_PRIVATE_KEY ? 'environment' : 'database' }, 'signing key loaded');
    const verifier = localVerifier(config, keys);
    // identity.user.* events leave through it, written in the transaction of the change.
    const outbox = new Outbox(IDENTITY_SCHEMA);
    const messagingMetrics = new MessagingMetrics();
    let broker: Broker | undefined;
    if (options.publishEvents !== false) {
      const connected = await Broker.connect(config.AMQP_URL, logger);
      broker = connected;
      closers.add(() => connected.close());
      const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger, pollIntervalMs: options.relayPollMs });
      await relay.start();
      messagingMetrics.watchOutbox(db);
      closers.add(() => relay.stop());
    }
    const transport = options.mailTransport ?? mailTransportFor(config);
    const mailer = new Mailer({
      db,
      databaseUrl: config.DATABASE_URL,
      schema: IDENTITY_SCHEMA,
      transport,
      from: config.MAIL_FROM,
      logger,
      logBodies: config.NODE_ENV === 'development',
      pollIntervalMs: options.mailPollMs,
    });
    await mailer.start();
    messagingMetrics.watchBacklog('taskflow_mail_outbox', 'Mail', db, MAIL_OUTBOX_TABLE, 'sent_at');
    closers.add(() => mailer.stop());
    logger.info({ mail: transport.kind }, 'account mail transport');
    const app = buildApp({ config, logger, db, outbox, keys, verifier, broker, mailer });
    app.metrics.include(messagingMetrics.registry);
    return closers.serve(app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
  });
}
