// Composition root: config -> logger -> db -> migrate -> broker -> relay -> consumer -> mailer -> app -> listen.
// SIGTERM stops them in reverse: server, consumer, relay, mailer, broker, db.
import {
  AccessTokenVerifier,
  Broker,
  createDb,
  createLogger,
  EventConsumer,
  jwksFromUrl,
  listen,
  migrate,
  Outbox,
  OutboxRelay,
  QUEUES,
  shutdownOnSignals,
} from '@taskflow/shared';
import { buildApp } from './app';
import { loadTenancyConfig } from './config';
import { migrations, TENANCY_SCHEMA } from './db/migrations';
import { eventHandlers } from './events/handlers';
import { Mailer } from './mail/mailer';
import { FileTransport, SmtpTransport } from './mail/transports';

async function main(): Promise<void> {
  const config = loadTenancyConfig();
  const logger = createLogger('tenancy', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: TENANCY_SCHEMA });
  try {
    await migrate(db, TENANCY_SCHEMA, migrations);
    const broker = await Broker.connect(config.AMQP_URL, logger);
    const outbox = new Outbox(TENANCY_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger });
    await relay.start();
    // identity.user.registered / identity.user.updated -> the user profile replica.
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.tenancy.name, handlers: eventHandlers, logger });
    await consumer.start();
    const transport = config.SMTP_URL ? new SmtpTransport(config.SMTP_URL) : new FileTransport(config.MAIL_OUTBOX_DIR);
    const mailer = new Mailer({ db, transport, from: config.MAIL_FROM, logger, logBodies: config.NODE_ENV === 'development' });
    mailer.start();
    const verifier = new AccessTokenVerifier({
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      fetchKeys: jwksFromUrl(`${config.IDENTITY_URL.replace(/\/+$/, '')}/api/v1/auth/jwks/`),
    });
    const app = buildApp({
      logger,
      db,
      broker,
      outbox,
      verifier,
      mailer,
      mail: { from: config.MAIL_FROM, inviteAcceptUrl: config.INVITE_ACCEPT_URL },
      serviceToken: config.SERVICE_TOKEN,
    });
    const server = await listen(app, config.PORT, config.HOST);
    logger.info({ url: server.url, mail: transport.kind }, 'tenancy listening');
    shutdownOnSignals(logger, [
      () => server.close(),
      () => consumer.stop(),
      () => relay.stop(),
      () => mailer.stop(),
      () => broker.close(),
      () => db.destroy(),
    ]);
  } catch (err) {
    logger.fatal({ err }, 'tenancy failed to start');
    await db.destroy();
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  // Before the logger exists (invalid configuration): say what is wrong and stop.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
