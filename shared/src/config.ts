// Configuration read from the environment once at start-up and validated as a whole.
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigOptions {
  /** Variables with a development default that must be set explicitly when NODE_ENV=production. */
  productionRequired?: readonly string[];
}

/**
 * Parses `env` with `schema` and reports every missing or invalid variable in one error.
 * With NODE_ENV=production the variables named in `productionRequired` must be present in `env`
 * (their development defaults, such as keys or secrets, are refused).
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  options: ConfigOptions = {},
): z.infer<S> {
  const problems: string[] = [];
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
  }
  if (env.NODE_ENV === 'production') {
    for (const name of options.productionRequired ?? []) {
      if (env[name] === undefined || env[name] === '') {
        problems.push(`${name}: must be set explicitly in production (development default refused)`);
      }
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/** Fields every service shares. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  JWT_ISSUER: z.string().min(1).default('taskflow-identity'),
  JWT_AUDIENCE: z.string().min(1).default('taskflow-api'),
});

export const databaseUrl = z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/taskflow');
/** DB_STATEMENT_TIMEOUT_MS: the longest one statement may run before PostgreSQL cancels it (0 = never). */
export const statementTimeoutMs = z.coerce.number().int().min(0).max(600_000).default(5000);
export const amqpUrl = z.url({ protocol: /^amqps?$/ }).default('amqp://guest:guest@127.0.0.1:5672');
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const httpUrl = (fallback: string) => z.url({ protocol: /^https?$/ }).default(fallback);

/** The credential services present to each other's internal endpoints (never routed by the gateway). */
export const SERVICE_TOKEN_DEV_DEFAULT = 'dev-service-token-not-for-production';
export const serviceToken = z.string().min(16).default(SERVICE_TOKEN_DEV_DEFAULT);
