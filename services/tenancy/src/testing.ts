// Starts tenancy in-process on a free port (database, migrations, broker, relay, consumer, mailer, http),
// for its own tests, end-to-end tests and other services' tests.
import {
  type AccessTokenVerifier,
  Broker,
  createDb,
  createLogger,
  EventConsumer,
  listen,
  migrate,
  Outbox,
  OutboxRelay,
  QUEUES,
} from '@taskflow/shared';
import { buildApp } from './app';
import { loadTenancyConfig } from './config';
import { migrations, TENANCY_SCHEMA } from './db/migrations';
import { eventHandlers } from './events/handlers';
import { Mailer } from './mail/mailer';
import { FileTransport, type MailTransport, SmtpTransport } from './mail/transports';

export interface StartTenancyOptions {
  databaseUrl: string;
  amqpUrl: string;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  serviceToken?: string;
  /** Development mail directory (default: a `.dev-mail` directory in the working directory). */
  mailOutboxDir?: string;
  /** Send mail over SMTP instead of writing files. */
  smtpUrl?: string;
  /** Any transport (overrides smtpUrl and mailOutboxDir). */
  mailTransport?: MailTransport;
  /** First mail retry delay (default 1 s, doubling); tests lower it. */
  mailRetryBaseMs?: number;
  inviteAcceptUrl?: string;
}

export interface RunningTenancy {
  url: string;
  close(): Promise<void>;
}

/** Logs are silent unless LOG_LEVEL is set. */
export async function startTenancy(options: StartTenancyOptions): Promise<RunningTenancy> {
  const config = loadTenancyConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    AMQP_URL: options.amqpUrl,
    ...(options.serviceToken ? { SERVICE_TOKEN: options.serviceToken } : {}),
    ...(options.mailOutboxDir ? { MAIL_OUTBOX_DIR: options.mailOutboxDir } : {}),
    ...(options.smtpUrl ? { SMTP_URL: options.smtpUrl } : {}),
    ...(options.inviteAcceptUrl ? { INVITE_ACCEPT_URL: options.inviteAcceptUrl } : {}),
  });
  const logger = createLogger('tenancy', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: TENANCY_SCHEMA, poolMax: 5 });
  const stops: Array<() => Promise<unknown>> = [() => db.destroy()];
  const stopAll = async () => {
    for (const stop of stops) await stop().catch(() => undefined);
  };
  try {
    await migrate(db, TENANCY_SCHEMA, migrations);
    const broker = await Broker.connect(config.AMQP_URL, logger, { initialRetries: 2 });
    stops.unshift(() => broker.close());
    const outbox = new Outbox(TENANCY_SCHEMA);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger, pollIntervalMs: 200 });
    await relay.start();
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.tenancy.name, handlers: eventHandlers, logger, retryDelayMs: 20 });
    await consumer.start();
    const transport = options.mailTransport ?? (config.SMTP_URL ? new SmtpTransport(config.SMTP_URL) : new FileTransport(config.MAIL_OUTBOX_DIR));
    const mailer = new Mailer({ db, transport, from: config.MAIL_FROM, logger, pollIntervalMs: 500, retryBaseMs: options.mailRetryBaseMs ?? 1000 });
    mailer.start();
    stops.unshift(() => relay.stop(), () => mailer.stop());
    stops.unshift(() => consumer.stop());
    const app = buildApp({
      logger,
      db,
      broker,
      outbox,
      verifier: options.verifier,
      mailer,
      mail: { from: config.MAIL_FROM, inviteAcceptUrl: config.INVITE_ACCEPT_URL },
      serviceToken: config.SERVICE_TOKEN,
    });
    const server = await listen(app, 0, '127.0.0.1');
    stops.unshift(() => server.close(1000));
    return { url: server.url, close: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
