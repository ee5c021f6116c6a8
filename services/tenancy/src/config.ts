// Tenancy settings, read once from the environment and validated as a whole.
import { amqpUrl, baseConfigSchema, databaseUrl, httpUrl, linkTemplate, loadConfig, mailConfigFields, port, statementTimeoutMs, serviceToken } from '@taskflow/shared';
import type { z } from 'zod';

export const tenancyConfigSchema = baseConfigSchema.extend({
  PORT: port(4002),
  DATABASE_URL: databaseUrl,
  DB_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  AMQP_URL: amqpUrl,
  /**
   * Identity's base URL: access tokens are verified against `${IDENTITY_URL}/api/v1/auth/jwks/`, and a
   * caller the profile replica does not know as verified yet is looked up at `/api/v1/auth/me/`.
   */
  IDENTITY_URL: httpUrl('http://127.0.0.1:4001'),
  /** The credential other services present to the internal membership endpoint. */
  SERVICE_TOKEN: serviceToken,
  ...mailConfigFields,
  /** The link mailed to invitees; `{token}` is replaced by the invite token. */
  INVITE_ACCEPT_URL: linkTemplate('http://127.0.0.1:8080/api/v1/invites/accept/{token}/'),
});

export type TenancyConfig = z.infer<typeof tenancyConfigSchema>;

export function loadTenancyConfig(env: NodeJS.ProcessEnv = process.env): TenancyConfig {
  return loadConfig(tenancyConfigSchema, env, { productionRequired: ['DATABASE_URL', 'AMQP_URL', 'IDENTITY_URL', 'SERVICE_TOKEN'] });
}
