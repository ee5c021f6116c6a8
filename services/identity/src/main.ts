// Composition root: config -> logger -> database + migrations -> signing keys -> broker + outbox relay
// -> app -> listen; SIGTERM closes the server, then the relay, the broker and the pool.
import { Broker, createDb, createLogger, listen, migrate, OutboxRelay, shutdownOnSignals } from '@taskflow/shared';
import { buildApp } from './app';
import { loadIdentityConfig } from './config';
import { IDENTITY_SCHEMA, migrations, outbox } from './db/migrations';
import { loadSigningKeys } from './domain/signing-keys';

async function main(): Promise<void> {
  const config = loadIdentityConfig();
  const logger = createLogger('identity', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: IDENTITY_SCHEMA });
  try {
    await migrate(db, IDENTITY_SCHEMA, migrations);
    const keys = await loadSigningKeys(config, db);
    const broker = await Broker.connect(config.AMQP_URL, logger);
    const relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger });
    await relay.start();
    const app = buildApp({ config, logger, db, keys, broker });
    const server = await listen(app, config.PORT, config.HOST);
    logger.info({ url: server.url, kid: keys.current.kid, keySource: config.JWT_PRIVATE_KEY ? 'environment' : 'database' }, 'identity listening');
    shutdownOnSignals(logger, [() => server.close(), () => relay.stop(), () => broker.close(), () => db.destroy()]);
  } catch (err) {
    logger.fatal({ err }, 'identity failed to start');
    await db.destroy();
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  // Before the logger exists (invalid configuration): say what is wrong and stop.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
