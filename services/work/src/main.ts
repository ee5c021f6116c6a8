// Composition root: config -> logger -> database + migrations -> broker -> outbox relay -> consumer
// (queue `work`: membership and organization events) -> app -> listen; SIGTERM drains in reverse.
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
  Outbox,
  OutboxRelay,
  QUEUES,
  shutdownOnSignals,
} from '@taskflow/shared';
import { buildApp } from './app';
import { jwksUrlOf, loadWorkConfig } from './config';
import { migrations, WORK_SCHEMA } from './db/migrations';
import { workEventHandlers } from './events/handlers';

async function main(): Promise<void> {
  const config = loadWorkConfig();
  const logger = createLogger('work', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: WORK_SCHEMA });
  try {
    await migrate(db, WORK_SCHEMA, migrations);
    const broker = await Broker.connect(config.AMQP_URL, logger);
    const outbox = new Outbox(WORK_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger });
    await relay.start();
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.work.name, handlers: workEventHandlers(outbox), logger });
    await consumer.start();
    const verifier = new AccessTokenVerifier({ issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, fetchKeys: jwksFromUrl(jwksUrlOf(config.IDENTITY_URL)) });
    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const app = buildApp({ logger, db, outbox, verifier, replica, readiness: { broker: () => broker.ping() } });
    const server = await listen(app, config.PORT, config.HOST);
    logger.info({ url: server.url }, 'work listening');
    shutdownOnSignals(logger, [() => server.close(), () => consumer.stop(), () => relay.stop(), () => broker.close(), () => db.destroy()]);
  } catch (err) {
    logger.fatal({ err }, 'work failed to start');
    await db.destroy();
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  // Before the logger exists (invalid configuration): say what is wrong and stop.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
