// Audit settings, read once from the environment and validated as a whole.
import { amqpUrl, baseConfigSchema, databaseUrl, httpUrl, loadConfig, mailConfigFields, port, statementTimeoutMs, serviceToken } from '@taskflow/shared';
import { z } from 'zod';

export const auditConfigSchema = baseConfigSchema.extend({
  PORT: port(4004),
  DATABASE_URL: databaseUrl,
  DB_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  AMQP_URL: amqpUrl,
  /** Tenancy answers membership questions the replica cannot (internal endpoint, service credential). */
  TENANCY_URL: httpUrl('http://127.0.0.1:4002'),
  /** Identity publishes the keys that sign access tokens at `${IDENTITY_URL}/api/v1/auth/jwks/`. */
  IDENTITY_URL: httpUrl('http://127.0.0.1:4001'),
  SERVICE_TOKEN: serviceToken,
  /** Notification mail (`task.assigned`, `invite.received`) through the shared mail outbox. */
  ...mailConfigFields,
  /** Open event streams (change feed and notifications together) per user, across every audit replica; beyond: 429. */
  STREAMS_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  /** A stream's lease (what counts it across replicas) outlives its replica by at most this long. */
  STREAM_LEASE_MS: z.coerce.number().int().min(300).max(600_000).default(30_000),
  /** A comment line this often keeps proxies from closing an idle stream. */
  STREAM_HEARTBEAT_MS: z.coerce.number().int().min(10).max(300_000).default(15_000),
  /** Bytes a stream may hold for a client that does not read before it is dropped. */
  STREAM_BUFFER_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  return loadConfig(auditConfigSchema, env, { productionRequired: ['SERVICE_TOKEN'] });
}
