// Starts work in-process on a free port (database, broker, relay, consumer, HTTP), for end-to-end and service tests.
import {
  type AccessTokenVerifier,
  Broker,
  createDb,
  createLogger,
  EventConsumer,
  listen,
  MembershipReplica,
  migrate,
  Outbox,
  OutboxRelay,
  QUEUES,
  SERVICE_TOKEN_DEV_DEFAULT,
} from '@taskflow/shared';
import { buildApp } from './app';
import { migrations, WORK_SCHEMA } from './db/migrations';
import { workEventHandlers } from './events/handlers';

/** Logs are silent unless LOG_LEVEL is set. */
export async function startWork(options: {
  databaseUrl: string;
  amqpUrl: string;
  tenancyUrl: string;
  verifier: AccessTokenVerifier;
  serviceToken?: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const logger = createLogger('work', process.env.LOG_LEVEL ?? 'silent');
  const db = createDb({ url: options.databaseUrl, schema: WORK_SCHEMA, poolMax: 10 });
  const stops: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await db.destroy();
  };
  try {
    await migrate(db, WORK_SCHEMA, migrations);
    const broker = await Broker.connect(options.amqpUrl, logger);
    stops.push(() => broker.close());
    const outbox = new Outbox(WORK_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: options.databaseUrl, outbox, broker, logger, pollIntervalMs: 250 });
    await relay.start();
    stops.push(() => relay.stop());
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.work.name, handlers: workEventHandlers(outbox), logger, retryDelayMs: 20 });
    await consumer.start();
    stops.push(() => consumer.stop());
    const replica = new MembershipReplica({ db, tenancyUrl: options.tenancyUrl, serviceToken: options.serviceToken ?? SERVICE_TOKEN_DEV_DEFAULT });
    const app = buildApp({ logger, db, outbox, verifier: options.verifier, replica, readiness: { broker: () => broker.ping() } });
    const server = await listen(app, 0, '127.0.0.1');
    stops.push(() => server.close(1000));
    return { url: server.url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
