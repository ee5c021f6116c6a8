// The tenancy service, composed: database + migrations -> broker -> outbox relay -> consumer (queue `tenancy`:
// identity user events -> the profile replica) -> mailer (invite emails from the shared mail outbox) -> app -> listen.
// `close()` undoes it in reverse.
import {
  Broker,
  Closers,
  createDb,
  EventConsumer,
  type Logger,
  MessagingMetrics,
  MAIL_OUTBOX_TABLE,
  Mailer,
  type MailTransport,
  mailTransportFor,
  migrate,
  Outbox,
  OutboxRelay,
  purgeExpiredIdempotencyKeys,
  QUEUES,
  runPeriodically,
  type RunningService,
  type StartOptions,
  verifierFor,
} from '@taskflow/shared';
import { buildApp } from './app';
import type { TenancyConfig } from './config';
import { migrations, TENANCY_SCHEMA } from './db/migrations';
import { eventHandlers } from './events/handlers';

export interface TenancyStartOptions extends StartOptions {
  /** Any mail transport (tests); default: SMTP when SMTP_URL is set, else files in MAIL_OUTBOX_DIR. */
  mailTransport?: MailTransport;
  /** First mail retry delay (default 1 s, doubling). */
  mailRetryBaseMs?: number;
  mailPollMs?: number;
}

export async function startTenancyService(config: TenancyConfig, logger: Logger, options: TenancyStartOptions = {}): Promise<RunningService> {
  const closers = new Closers();
  return closers.guard(async () => {
    const db = createDb({ url: config.DATABASE_URL, schema: TENANCY_SCHEMA, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
    closers.add(() => db.destroy());
    await migrate(db, TENANCY_SCHEMA, migrations);
    const idempotencyPurge = runPeriodically(3600_000, () => purgeExpiredIdempotencyKeys(db));
    closers.add(() => idempotencyPurge.stop());
    const broker = await Broker.connect(config.AMQP_URL, logger);
    closers.add(() => broker.close());
    const outbox = new Outbox(TENANCY_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger, pollIntervalMs: options.relayPollMs });
    await relay.start();
    closers.add(() => relay.stop());
    const messagingMetrics = new MessagingMetrics();
    messagingMetrics.watchOutbox(db);
    messagingMetrics.watchQueue(broker, QUEUES.tenancy.name);
    messagingMetrics.watchBacklog('taskflow_mail_outbox', 'Mail', db, MAIL_OUTBOX_TABLE, 'sent_at');
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.tenancy.name, handlers: eventHandlers, logger, retryDelayMs: options.retryDelayMs, metrics: messagingMetrics });
    await consumer.start();
    closers.add(() => consumer.stop());
    const transport = options.mailTransport ?? mailTransportFor(config);
    const mailer = new Mailer({
      db,
      databaseUrl: config.DATABASE_URL,
      schema: TENANCY_SCHEMA,
      transport,
      from: config.MAIL_FROM,
      logger,
      logBodies: config.NODE_ENV === 'development',
      pollIntervalMs: options.mailPollMs,
      retryBaseMs: options.mailRetryBaseMs,
    });
    await mailer.start();
    closers.add(() => mailer.stop());
    logger.info({ mail: transport.kind }, 'invite mail transport');
    const app = buildApp({
      logger,
      db,
      broker,
      outbox,
      verifier: options.verifier ?? verifierFor(config),
      mailer,
      mail: { from: config.MAIL_FROM, inviteAcceptUrl: config.INVITE_ACCEPT_URL },
      serviceToken: config.SERVICE_TOKEN,
      identityUrl: config.IDENTITY_URL,
    });
    app.metrics.include(messagingMetrics.registry);
    return closers.serve(app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
  });
}
