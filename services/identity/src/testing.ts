// Starts identity in-process on a free port, for end-to-end tests and the gateway's tests.
import { Broker, createDb, createLogger, listen, migrate, OutboxRelay } from '@taskflow/shared';
import { buildApp } from './app';
import { loadIdentityConfig } from './config';
import { IDENTITY_SCHEMA, migrations, outbox } from './db/migrations';
import { loadSigningKeys } from './domain/signing-keys';

/**
 * Migrates the `identity` schema of `databaseUrl`, loads (or creates) the signing key and listens on
 * port 0. With `amqpUrl` it also publishes its events (broker + outbox relay). `scryptCost` lowers the
 * password hashing cost (default 1024 here, for speed). Logs are silent unless LOG_LEVEL is set.
 */
export async function startIdentity(options: { databaseUrl: string; amqpUrl?: string; scryptCost?: number }): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadIdentityConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    PASSWORD_SCRYPT_COST: String(options.scryptCost ?? 1024),
  });
  const logger = createLogger('identity', config.LOG_LEVEL);
  const db = createDb({ url: config.DATABASE_URL, schema: IDENTITY_SCHEMA, poolMax: 5 });
  let broker: Broker | undefined;
  let relay: OutboxRelay | undefined;
  try {
    await migrate(db, IDENTITY_SCHEMA, migrations);
    const keys = await loadSigningKeys(config, db);
    if (options.amqpUrl) {
      broker = await Broker.connect(options.amqpUrl, logger);
      relay = new OutboxRelay({ db, databaseUrl: config.DATABASE_URL, outbox, broker, logger });
      await relay.start();
    }
    const server = await listen(buildApp({ config, logger, db, keys, broker }), 0, '127.0.0.1');
    return {
      url: server.url,
      async close() {
        await server.close(1000);
        await relay?.stop();
        await broker?.close();
        await db.destroy();
      },
    };
  } catch (err) {
    await relay?.stop();
    await broker?.close();
    await db.destroy();
    throw err;
  }
}
