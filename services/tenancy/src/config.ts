// Tenancy settings, read once from the environment and validated as a whole.
import { amqpUrl, baseConfigSchema, databaseUrl, httpUrl, loadConfig, port, statementTimeoutMs, serviceToken } from '@taskflow/shared';
import { z } from 'zod';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

export const tenancyConfigSchema = baseConfigSchema.extend({
  PORT: port(4002),
  DATABASE_URL: databaseUrl,
  DB_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  AMQP_URL: amqpUrl,
  /** Identity's base URL; access tokens are verified against `${IDENTITY_URL}/api/v1/auth/jwks/`. */
  IDENTITY_URL: httpUrl('http://127.0.0.1:4001'),
  /** The credential other services present to the internal membership endpoint. */
  SERVICE_TOKEN: serviceToken,
  /** e.g. smtp://user:pass@mail.example.com:587; unset (development) writes mail to MAIL_OUTBOX_DIR. */
  SMTP_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^smtps?$/ }).optional()),
  MAIL_FROM: z.string().min(3).default('TaskFlow <no-reply@taskflow.local>'),
  MAIL_OUTBOX_DIR: z.string().min(1).default('.dev-mail'),
  /** The link mailed to invitees; `{token}` is replaced by the invite token. */
  INVITE_ACCEPT_URL: z
    .string()
    .refine((v) => v.includes('{token}'), { message: 'must contain {token}' })
    .default('http://127.0.0.1:8080/api/v1/invites/accept/{token}/'),
});

export type TenancyConfig = z.infer<typeof tenancyConfigSchema>;

export function loadTenancyConfig(env: NodeJS.ProcessEnv = process.env): TenancyConfig {
  return loadConfig(tenancyConfigSchema, env, { productionRequired: ['DATABASE_URL', 'AMQP_URL', 'IDENTITY_URL', 'SERVICE_TOKEN'] });
}
