// The webhooks Koa app (no listen): the shared base plus the webhook routes.
import { type AccessTokenVerifier, authenticate, createApp, type Logger, pingDb, type ServiceApp } from '@taskflow/shared';
import type { WebhooksDeps } from './domain/model';
import { webhookDocs } from './http/event-docs';
import { webhookRoutes } from './http/webhooks.routes';

export interface WebhooksAppOptions {
  logger: Logger;
  deps: WebhooksDeps;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  /** Extra readiness checks (the broker, in the real process). */
  readiness?: Record<string, () => Promise<unknown>>;
}

export function buildApp({ logger, deps, verifier, readiness }: WebhooksAppOptions): ServiceApp {
  return createApp({
    service: 'webhooks',
    logger,
    readiness: { database: () => pingDb(deps.db), ...readiness },
    routes: [webhookRoutes(deps, authenticate(verifier))],
    openApiWebhooks: webhookDocs(),
  });
}
