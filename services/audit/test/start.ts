// Starts audit in-process on a free port, for end-to-end tests and audit's own tests. Logs are silent unless LOG_LEVEL is set.
import { type AccessTokenVerifier, createLogger, type RunningService } from '@taskflow/shared';
import { loadAuditConfig } from '../src/config';
import { startAuditService } from '../src/service';

export interface StartAuditOptions {
  databaseUrl: string;
  amqpUrl: string;
  tenancyUrl: string;
  verifier: AccessTokenVerifier;
  serviceToken?: string;
  /** Further settings, e.g. `{ STREAM_HEARTBEAT_MS: '50' }`. */
  env?: Record<string, string>;
}

export async function startAudit(options: StartAuditOptions): Promise<RunningService> {
  const config = loadAuditConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    AMQP_URL: options.amqpUrl,
    TENANCY_URL: options.tenancyUrl,
    ...(options.serviceToken ? { SERVICE_TOKEN: options.serviceToken } : {}),
    ...options.env,
  });
  return startAuditService(config, createLogger('audit', config.LOG_LEVEL), { port: 0, verifier: options.verifier, closeGraceMs: 1000, retryDelayMs: 50 });
}
