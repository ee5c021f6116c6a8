// Starts webhooks in-process on a free port, for end-to-end and service tests. Logs are silent unless LOG_LEVEL is set.
import { type AccessTokenVerifier, createLogger, type MailTransport, type RunningService } from '@taskflow/shared';
import { loadWebhooksConfig } from '../src/config';
import type { Resolver } from '../src/domain/url-safety';
import { startWebhooksService } from '../src/service';

export interface StartWebhooksOptions {
  databaseUrl: string;
  amqpUrl: string;
  tenancyUrl: string;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  serviceToken?: string;
  /** Environment on top of the test defaults (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, a short schedule...). */
  env?: Record<string, string>;
  mailTransport?: MailTransport;
  mailOutboxDir?: string;
  resolve?: Resolver;
  leaseMarginMs?: number;
}

export async function startWebhooks(options: StartWebhooksOptions): Promise<RunningService> {
  const config = loadWebhooksConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl,
    AMQP_URL: options.amqpUrl,
    TENANCY_URL: options.tenancyUrl,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '0.2,0.4,0.8',
    ...(options.serviceToken ? { SERVICE_TOKEN: options.serviceToken } : {}),
    ...(options.mailOutboxDir ? { MAIL_OUTBOX_DIR: options.mailOutboxDir } : {}),
    ...options.env,
  });
  return startWebhooksService(config, createLogger('webhooks', config.LOG_LEVEL), {
    port: 0,
    verifier: options.verifier,
    closeGraceMs: 1000,
    relayPollMs: 250,
    retryDelayMs: 20,
    deliveryPollMs: 250,
    leaseMarginMs: options.leaseMarginMs ?? 1000,
    mailTransport: options.mailTransport,
    resolve: options.resolve,
  });
}
