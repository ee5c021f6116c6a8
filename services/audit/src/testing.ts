// Starts audit in-process (database, migrations, broker, consumer, HTTP on a free port), for
// end-to-end tests and audit's own tests.
import {
  type AccessTokenVerifier,
  Broker,
  createDb,
  createLogger,
  EventConsumer,
  listen,
  MembershipReplica,
  migrate,
  QUEUES,
} from '@taskflow/shared';
import { buildApp } from './app';
import { loadAuditConfig } from './config';
import { AUDIT_SCHEMA, migrations } from './db/migrations';
import { auditHandlers } from './events/handlers';

export interface StartAuditOptions {
  databaseUrl: string;
  amqpUrl: string;
  tenancyUrl: string;
  verifier: AccessTokenVerifier;
  serviceToken?: string;
}

/** Logs are silent unless LOG_LEVEL is set. `close()` stops the server, then the consumer, the broker and the pool. */
export async function startAudit(options: StartAuditOptions): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadAuditConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    AMQP_URL: options.amqpUrl,
    TENANCY_URL: options.tenancyUrl,
    ...(options.serviceToken ? { SERVICE_TOKEN: options.serviceToken } : {}),
  });
  const logger = createLogger('audit', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: AUDIT_SCHEMA, poolMax: 5 });
  let broker: Broker | undefined;
  let consumer: EventConsumer | undefined;
  try {
    await migrate(db, AUDIT_SCHEMA, migrations);
    broker = await Broker.connect(config.AMQP_URL, logger, { initialRetries: 2 });
    consumer = new EventConsumer({ broker, db, queue: QUEUES.audit.name, handlers: auditHandlers, logger, retryDelayMs: 50 });
    await consumer.start();
    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const server = await listen(buildApp({ logger, db, broker, replica, verifier: options.verifier }), 0, '127.0.0.1');
    const [started, startedBroker] = [consumer, broker];
    return {
      url: server.url,
      async close() {
        await server.close(1000);
        await started.stop();
        await startedBroker.close();
        await db.destroy();
      },
    };
  } catch (err) {
    await consumer?.stop();
    await broker?.close();
    await db.destroy();
    throw err;
  }
}
