// Work settings, read once from the environment and validated as a whole.
import { amqpUrl, baseConfigSchema, databaseUrl, fairUseConfig, httpUrl, loadConfig, port, statementTimeoutMs, serviceToken } from '@taskflow/shared';
import { z } from 'zod';

export const workConfigSchema = baseConfigSchema.extend({
  PORT: port(4003),
  DATABASE_URL: databaseUrl,
  DB_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  AMQP_URL: amqpUrl,
  /** Identity's base URL; its JWKS (`/api/v1/auth/jwks/`) verifies access tokens. */
  IDENTITY_URL: httpUrl('http://127.0.0.1:4001'),
  /** Tenancy's base URL, for the internal membership endpoint asked on a replica miss. */
  TENANCY_URL: httpUrl('http://127.0.0.1:4002'),
  SERVICE_TOKEN: serviceToken,
  ...fairUseConfig,
});

export type WorkConfig = z.infer<typeof workConfigSchema>;

export function loadWorkConfig(env: NodeJS.ProcessEnv = process.env): WorkConfig {
  return loadConfig(workConfigSchema, env, { productionRequired: ['DATABASE_URL', 'AMQP_URL', 'IDENTITY_URL', 'TENANCY_URL', 'SERVICE_TOKEN'] });
}
