// Identity settings, read once from the environment and validated as a whole.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { amqpUrl, baseConfigSchema, databaseUrl, linkTemplate, loadConfig, mailConfigFields, port, statementTimeoutMs } from '@taskflow/shared';
import { z } from 'zod';

/** Keys passed through an env file often carry literal `\n` instead of line breaks. */
const pem = (kind: 'private' | 'public') =>
  z
    .string()
    .transform((value) => value.replace(/\\n/g, '\n').trim())
    .refine(
      (value) => {
        try {
          const key = kind === 'private' ? createPrivateKey(value) : createPublicKey(value);
          return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
        } catch {
          return false;
        }
      },
      { message: `must be an RSA (2048 bits or more) ${kind} key in PEM format` },
    );

const optionalPem = (kind: 'private' | 'public') =>
  z.preprocess((value) => (value === '' ? undefined : value), pem(kind).optional());

const isPowerOfTwo = (n: number) => Number.isInteger(Math.log2(n));

export const identityConfigSchema = baseConfigSchema.extend({
  PORT: port(4001),
  DATABASE_URL: databaseUrl,
  DB_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  AMQP_URL: amqpUrl,
  /** Signs access tokens. Unset outside production: a key is generated once and kept in the database. */
  JWT_PRIVATE_KEY: optionalPem('private'),
  /** The key signed with before the last rotation; still accepted until its tokens expire. */
  JWT_PREVIOUS_PUBLIC_KEY: optionalPem('public'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(90 * 86_400).default(86_400),
  /** scrypt N; a power of two. Tests lower it for speed. */
  PASSWORD_SCRYPT_COST: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1_048_576)
    .refine(isPowerOfTwo, { message: 'must be a power of two' })
    .default(32_768),
  /** scrypt hashes running at once (register, login, password reset); libuv's other threads stay free. */
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Hashing requests of one client address waiting for a turn; one more is 429. */
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(1000).default(8),
  /** Longest a hashing request waits for a turn: then 429 (its address's own requests), or 503 `service_busy`. */
  PASSWORD_HASH_QUEUE_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(3000),
  ...mailConfigFields,
  /** The link in the verification mail; `{token}` is replaced by the token (POST it to verify). */
  VERIFY_EMAIL_URL: linkTemplate('http://127.0.0.1:8080/api/v1/auth/verify-email/{token}/'),
  /** The link in the password reset mail; `{token}` is replaced by the token (POST the new password to it). */
  PASSWORD_RESET_URL: linkTemplate('http://127.0.0.1:8080/api/v1/auth/password-reset/{token}/'),
});

export type IdentityConfig = z.infer<typeof identityConfigSchema>;

export function loadIdentityConfig(env: NodeJS.ProcessEnv = process.env): IdentityConfig {
  return loadConfig(identityConfigSchema, env, { productionRequired: ['DATABASE_URL', 'JWT_PRIVATE_KEY'] });
}
