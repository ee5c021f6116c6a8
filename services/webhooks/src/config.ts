// Webhooks settings, read once from the environment and validated as a whole.
import { amqpUrl, baseConfigSchema, databaseUrl, httpUrl, loadConfig, mailConfigFields, port, serviceToken, statementTimeoutMs } from '@taskflow/shared';
import { z } from 'zod';

/** Development only: production refuses to start without its own WEBHOOK_SECRET_KEY. */
export const WEBHOOK_SECRET_KEY_DEV_DEFAULT = 'dev-webhook-secret-key-not-for-production';

/** API.md: retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

const flag = z.enum(['true', 'false']).default('false').transform((v) => v === 'true');
const seconds = z.coerce.number().min(0).max(365 * 86400);

const retrySchedule = z
  .string()
  .regex(/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/, 'must be a comma-separated list of seconds')
  .transform((v) => v.split(',').map((s) => Number(s.trim())))
  .optional()
  .transform((v) => v ?? DEFAULT_RETRY_SCHEDULE);

export const webhooksConfigSchema = baseConfigSchema.extend({
  PORT: port(4005),
  DATABASE_URL: databaseUrl,
  DB_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  AMQP_URL: amqpUrl,
  /** Identity publishes the keys that sign access tokens at `${IDENTITY_URL}/api/v1/auth/jwks/`. */
  IDENTITY_URL: httpUrl('http://127.0.0.1:4001'),
  /** Tenancy answers membership questions the replica cannot (internal endpoint, service credential). */
  TENANCY_URL: httpUrl('http://127.0.0.1:4002'),
  SERVICE_TOKEN: serviceToken,
  ...mailConfigFields,
  /** Encrypts the endpoints' signing secrets at rest (AES-256-GCM under a key derived from it). */
  WEBHOOK_SECRET_KEY: z.string().min(32).default(WEBHOOK_SECRET_KEY_DEV_DEFAULT),
  /** Development and tests: deliver to loopback and private addresses, over http:// too. */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag,
  /** Seconds to wait before each retry; a delivery fails for good after the last. */
  WEBHOOK_RETRY_SCHEDULE: retrySchedule,
  /** One attempt (connect, send, answer) may take this long. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(10_000),
  /** A claimed delivery is leased for the attempt's timeout plus this: a replica killed mid-attempt loses it then, and another sends again. */
  WEBHOOK_LEASE_MARGIN_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Attempts in flight at once in one replica, and to one endpoint across replicas. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** An endpoint whose deliveries all failed for this long is disabled and its owners mailed (5 days). */
  WEBHOOK_DISABLE_AFTER_SECONDS: seconds.default(5 * 86400),
  /** How long a rotated-out secret keeps signing alongside the new one (24 h). */
  WEBHOOK_ROTATION_OVERLAP_SECONDS: seconds.default(86400),
});

export type WebhooksConfig = z.infer<typeof webhooksConfigSchema>;

export function loadWebhooksConfig(env: NodeJS.ProcessEnv = process.env): WebhooksConfig {
  return loadConfig(webhooksConfigSchema, env, { productionRequired: ['DATABASE_URL', 'AMQP_URL', 'IDENTITY_URL', 'TENANCY_URL', 'SERVICE_TOKEN', 'WEBHOOK_SECRET_KEY'] });
}
