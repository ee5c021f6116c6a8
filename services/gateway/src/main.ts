// Composition root: config -> logger -> upstream clients, token verifier, limits (createGateway) -> listen; SIGTERM drains.
import { createLogger, listen, shutdownOnSignals } from '@taskflow/shared';
import { createGateway } from './app';
import { loadGatewayConfig } from './config';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const gateway = createGateway(config, logger);
  const server = await listen(gateway.app, config.PORT, config.HOST);
  logger.info(
    { url: server.url, identity: config.IDENTITY_URL, tenancy: config.TENANCY_URL, work: config.WORK_URL, audit: config.AUDIT_URL },
    'gateway listening',
  );
  // The server first (in-flight requests still need the upstream clients), then the clients.
  shutdownOnSignals(logger, [() => server.close(), () => gateway.close()]);
}

main().catch((err: unknown) => {
  createLogger('gateway').fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
