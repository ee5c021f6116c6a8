// The work service, composed: database + migrations -> broker -> outbox relay -> consumer (queue `work`:
// membership and organization events) -> membership replica -> app -> listen. `close()` undoes it in reverse.
import {
  Broker,
  Closers,
  createDb,
  EventConsumer,
  fairUseLimits,
  type Logger,
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
import type { WorkConfig } from './config';
import { migrations, WORK_SCHEMA } from './db/migrations';
import { workEventHandlers } from './events/handlers';

export async function startWorkService(config: WorkConfig, logger: Logger, options: StartOptions = {}): Promise<RunningService> {
  const closers = new Closers();
  return closers.guard(async () => {
    const db = createDb({ url: config.DATABASE_URL, schema: WORK_SCHEMA, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
    closers.add(() => db.destroy());
    await migrate(db, WORK_SCHEMA, migrations);
    const idempotencyPurge = runPeriodically(3600_000, () => purgeExpiredIdempotencyKeys(db));
    closers.add(() => idempotencyPurge.stop());
    const broker = await Broker.connect(config.AMQP_URL, logger);
    closers.add(() => broker.close());
    const outbox = new Outbox(WORK_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger, pollIntervalMs: options.relayPollMs });
    await relay.start();
    closers.add(() => relay.stop());
    const messagingMetrics = new MessagingMetrics();
    messagingMetrics.watchOutbox(db);
    messagingMetrics.watchQueue(broker, QUEUES.work.name);
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.work.name, handlers: workEventHandlers(outbox), logger, retryDelayMs: options.retryDelayMs, metrics: messagingMetrics });
    await consumer.start();
    closers.add(() => consumer.stop());
    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const verifier = options.verifier ?? verifierFor(config);
    const app = buildApp({ logger, db, outbox, verifier, replica, readiness: { broker: () => broker.ping() }, fairUse: fairUseLimits(config) });
    app.metrics.include(messagingMetrics.registry);
    return closers.serve(app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
  });
}
