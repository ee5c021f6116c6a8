// Composition root: config -> logger -> database + migrations -> broker -> consumer of every event
// -> app -> listen; SIGTERM stops the server, then the consumer, the broker and the pool.
import {
  AccessTokenVerifier,
  Broker,
  createDb,
  createLogger,
  EventConsumer,
  jwksFromUrl,
  listen,
  MembershipReplica,
  migrate,
  QUEUES,
  shutdownOnSignals,
} from '@taskflow/shared';
import { buildApp } from './app';
import { jwksUrlOf, loadAuditConfig } from './config';
import { AUDIT_SCHEMA, migrations } from './db/migrations';
import { auditHandlers } from './events/handlers';

async function main(): Promise<void> {
  const config = loadAuditConfig();
  const logger = createLogger('audit', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: AUDIT_SCHEMA });
  try {
    await migrate(db, AUDIT_SCHEMA, migrations);
    const broker = await Broker.connect(config.AMQP_URL, logger);
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.audit.name, handlers: auditHandlers, logger });
    await consumer.start();

    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const verifier = new AccessTokenVerifier({ issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, fetchKeys: jwksFromUrl(jwksUrlOf(config)) });
    const app = buildApp({ logger, db, broker, replica, verifier });
    const server = await listen(app, config.PORT, config.HOST);
    logger.info({ url: server.url, queue: QUEUES.audit.name }, 'audit listening');

    shutdownOnSignals(logger, [() => server.close(), () => consumer.stop(), () => broker.close(), () => db.destroy()]);
  } catch (err) {
    logger.fatal({ err }, 'audit failed to start');
    await db.destroy();
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  // Before the logger exists (invalid configuration): say what is wrong and stop.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
