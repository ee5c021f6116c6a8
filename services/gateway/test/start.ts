// Starts a real gateway on a free port, for tests of this and other packages (e2e journeys); a test starter, not part of the build.
import { createLogger } from '@taskflow/shared';
import { type RunningGateway, startGatewayService } from '../src/service';
import { loadGatewayConfig } from '../src/config';

/** Nothing listens on port 1: an upstream left unset fails fast with ECONNREFUSED. */
const CLOSED_PORT_URL = 'http://127.0.0.1:1';

export async function startGateway(options: {
  identityUrl: string;
  tenancyUrl?: string;
  workUrl?: string;
  auditUrl?: string;
  webhooksUrl?: string;
  env?: Record<string, string>;
}): Promise<RunningGateway> {
  const config = loadGatewayConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    METRICS_PORT: '0',
    ...options.env,
    IDENTITY_URL: options.identityUrl,
    TENANCY_URL: options.tenancyUrl ?? CLOSED_PORT_URL,
    WORK_URL: options.workUrl ?? CLOSED_PORT_URL,
    AUDIT_URL: options.auditUrl ?? CLOSED_PORT_URL,
    WEBHOOKS_URL: options.webhooksUrl ?? CLOSED_PORT_URL,
  });
  return startGatewayService(config, createLogger('gateway', config.LOG_LEVEL), { port: 0, closeGraceMs: 2000 });
}
