// The webhooks service, composed: database + migrations -> broker -> outbox relay (webhooks.endpoint.*)
// -> consumer of every event (queue `webhooks`: deliveries queued, membership replica) -> delivery worker
// (woken by NOTIFY, metered) -> mailer (owners told of a disabled endpoint) -> app -> listen. `close()` undoes it in reverse.
import {
  Broker,
  Closers,
  createDb,
  EventConsumer,
  type Logger,
  MAIL_OUTBOX_TABLE,
  Mailer,
  type MailTransport,
  mailTransportFor,
  MembershipReplica,
  MessagingMetrics,
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
import type { WebhooksConfig } from './config';
import { migrations, WEBHOOKS_SCHEMA } from './db/migrations';
import { closeIdleSockets } from './delivery/post';
import { WebhookMetrics } from './delivery/metrics';
import { DeliveryWorker } from './delivery/worker';
import type { WebhooksDeps } from './domain/model';
import { SecretBox } from './domain/secrets';
import { type Resolver, UrlGuard } from './domain/url-safety';
import { webhooksEventHandlers } from './events/handlers';

export interface WebhooksStartOptions extends StartOptions {
  mailTransport?: MailTransport;
  /** Name resolution for the SSRF checks (tests answer what they need); default: the system resolver. */
  resolve?: Resolver;
  /** How often the delivery worker looks for due deliveries without being woken (default 5 s). */
  deliveryPollMs?: number;
  /** How long a lease outlives an attempt's timeout (default WEBHOOK_LEASE_MARGIN_MS; tests shorten it to recover fast). */
  leaseMarginMs?: number;
}

export async function startWebhooksService(config: WebhooksConfig, logger: Logger, options: WebhooksStartOptions = {}): Promise<RunningService> {
  const closers = new Closers();
  return closers.guard(async () => {
    const db = createDb({ url: config.DATABASE_URL, schema: WEBHOOKS_SCHEMA, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
    closers.add(() => db.destroy());
    await migrate(db, WEBHOOKS_SCHEMA, migrations);
    const idempotencyPurge = runPeriodically(3600_000, () => purgeExpiredIdempotencyKeys(db));
    closers.add(() => idempotencyPurge.stop());
    const broker = await Broker.connect(config.AMQP_URL, logger);
    closers.add(() => broker.close());
    const outbox = new Outbox(WEBHOOKS_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger, pollIntervalMs: options.relayPollMs });
    await relay.start();
    closers.add(() => relay.stop());
    const messagingMetrics = new MessagingMetrics();
    messagingMetrics.watchOutbox(db);
    messagingMetrics.watchQueue(broker, QUEUES.webhooks.name);
    messagingMetrics.watchBacklog('taskflow_mail_outbox', 'Mail', db, MAIL_OUTBOX_TABLE, 'sent_at');
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.webhooks.name, handlers: webhooksEventHandlers, logger, retryDelayMs: options.retryDelayMs, metrics: messagingMetrics });
    await consumer.start();
    closers.add(() => consumer.stop());
    const guard = new UrlGuard({ allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS, resolve: options.resolve });
    if (config.WEBHOOK_ALLOW_PRIVATE_NETWORKS) logger.warn('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: webhooks may reach loopback and private addresses (development only)');
    const secrets = new SecretBox(config.WEBHOOK_SECRET_KEY);
    const webhookMetrics = new WebhookMetrics(db);
    const worker = new DeliveryWorker({
      db,
      outbox,
      databaseUrl: config.DATABASE_URL,
      logger,
      guard,
      secrets,
      rules: { retrySchedule: config.WEBHOOK_RETRY_SCHEDULE, disableAfterSeconds: config.WEBHOOK_DISABLE_AFTER_SECONDS },
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      concurrency: config.WEBHOOK_CONCURRENCY,
      endpointConcurrency: config.WEBHOOK_ENDPOINT_CONCURRENCY,
      leaseMarginMs: options.leaseMarginMs ?? config.WEBHOOK_LEASE_MARGIN_MS,
      pollIntervalMs: options.deliveryPollMs,
      metrics: webhookMetrics,
    });
    await worker.start();
    closers.add(async () => {
      await worker.stop();
      closeIdleSockets();
    });
    const mailer = new Mailer({
      db,
      databaseUrl: config.DATABASE_URL,
      schema: WEBHOOKS_SCHEMA,
      transport: options.mailTransport ?? mailTransportFor(config),
      from: config.MAIL_FROM,
      logger,
    });
    await mailer.start();
    closers.add(() => mailer.stop());
    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const deps: WebhooksDeps = {
      db,
      replica,
      outbox,
      secrets,
      urls: guard,
      rotationOverlapSeconds: config.WEBHOOK_ROTATION_OVERLAP_SECONDS,
      wakeDeliveries: () => worker.wake(),
    };
    const app = buildApp({ logger, deps, verifier: options.verifier ?? verifierFor(config), readiness: { broker: () => broker.ping() } });
    app.metrics.include(messagingMetrics.registry);
    app.metrics.include(webhookMetrics.registry);
    return closers.serve(app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
  });
}
