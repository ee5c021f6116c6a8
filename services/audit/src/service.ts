// The audit service, composed: database + migrations -> broker -> consumer of every event (queue `audit`)
// -> membership replica -> app -> listen. `close()` undoes it in reverse.
import {
  Broker,
  Closers,
  createDb,
  EventConsumer,
  type Logger,
  MembershipReplica,
  MessagingMetrics,
  migrate,
  QUEUES,
  type RunningService,
  type StartOptions,
  verifierFor,
} from '@taskflow/shared';
import { buildApp } from './app';
import type { AuditConfig } from './config';
import { AUDIT_SCHEMA, migrations } from './db/migrations';
import { auditHandlers } from './events/handlers';

export async function startAuditService(config: AuditConfig, logger: Logger, options: StartOptions = {}): Promise<RunningService> {
  const closers = new Closers();
  return closers.guard(async () => {
    const db = createDb({ url: config.DATABASE_URL, schema: AUDIT_SCHEMA, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
    closers.add(() => db.destroy());
    await migrate(db, AUDIT_SCHEMA, migrations);
    const broker = await Broker.connect(config.AMQP_URL, logger);
    closers.add(() => broker.close());
    const messagingMetrics = new MessagingMetrics();
    messagingMetrics.watchQueue(broker, QUEUES.audit.name);
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.audit.name, handlers: auditHandlers, logger, retryDelayMs: options.retryDelayMs, metrics: messagingMetrics });
    await consumer.start();
    closers.add(() => consumer.stop());
    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const app = buildApp({ logger, db, broker, replica, verifier: options.verifier ?? verifierFor(config) });
    app.metrics.include(messagingMetrics.registry);
    return closers.serve(app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
  });
}
