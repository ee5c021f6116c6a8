// Audit settings, read once from the environment and validated as a whole.
import { amqpUrl, baseConfigSchema, databaseUrl, httpUrl, loadConfig, port, statementTimeoutMs, serviceToken } from '@taskflow/shared';
import type { z } from 'zod';

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
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;

export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  return loadConfig(auditConfigSchema, env, { productionRequired: ['SERVICE_TOKEN'] });
}
