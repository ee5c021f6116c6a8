// Starts work in-process on a free port, for end-to-end and service tests. Logs are silent unless LOG_LEVEL is set.
import { type AccessTokenVerifier, createLogger, type RunningService } from '@taskflow/shared';
import { loadWorkConfig } from '../src/config';
import { startWorkService } from '../src/service';

export async function startWork(options: {
  databaseUrl: string;
  amqpUrl: string;
  tenancyUrl: string;
  verifier: AccessTokenVerifier;
  serviceToken?: string;
  /** More configuration (e.g. the fair-use limits), as environment variables. */
  env?: Record<string, string>;
}): Promise<RunningService> {
  const config = loadWorkConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    AMQP_URL: options.amqpUrl,
    TENANCY_URL: options.tenancyUrl,
    ...(options.serviceToken ? { SERVICE_TOKEN: options.serviceToken } : {}),
    // Tests seed in parallel bursts (45 creates of one user at once): they wait their turn rather than
    // meet the default queue bound. fair-use.api.test.ts sets its own limits.
    FAIR_USE_QUEUE: '100',
    ...options.env,
  });
  return startWorkService(config, createLogger('work', config.LOG_LEVEL), {
    port: 0,
    verifier: options.verifier,
    closeGraceMs: 1000,
    relayPollMs: 250,
    retryDelayMs: 20,
  });
}
