// The gateway's configuration: where the upstream services live, timeouts, breaker and rate limits.
import { baseConfigSchema, loadConfig, port } from '@taskflow/shared';
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** `http://a:4003,http://b:4003` -> one URL per endpoint (at least one, each valid, no repeats). */
const httpUrlList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) => value.split(',').map((url) => url.trim()))
    .pipe(
      z
        .array(z.url({ protocol: /^http$/ }))
        .min(1)
        .refine((urls) => new Set(urls).size === urls.length, 'lists an endpoint twice'),
    );

export const gatewayConfigSchema = baseConfigSchema.extend({
  PORT: port(8080),
  /** Prometheus /metrics is served here, never on the public PORT (0: any free port, for tests). */
  METRICS_PORT: port(9464),
  /** Each upstream: one base URL (e.g. a Kubernetes Service), or its replicas' URLs separated by commas. */
  IDENTITY_URL: httpUrlList('http://127.0.0.1:4001'),
  TENANCY_URL: httpUrlList('http://127.0.0.1:4002'),
  WORK_URL: httpUrlList('http://127.0.0.1:4003'),
  AUDIT_URL: httpUrlList('http://127.0.0.1:4004'),
  WEBHOOKS_URL: httpUrlList('http://127.0.0.1:4005'),
  /** Whole upstream exchange (connect, send, headers and body) must finish within this. */
  UPSTREAM_TIMEOUT_MS: positiveInt(10_000),
  /** How long an open breaker fails fast before letting one trial request through. */
  BREAKER_RESET_MS: positiveInt(5_000),
  /** Requests a minute per client address to register, login, refresh and logout together. */
  AUTH_RATE_LIMIT_PER_MINUTE: positiveInt(60),
  /** Failed logins for one email from one address before further logins for that pair are refused. */
  LOGIN_FAILURE_LIMIT: positiveInt(10),
  LOGIN_FAILURE_WINDOW_SECONDS: positiveInt(900),
  /** Writes (POST, PUT, PATCH, DELETE) a minute per signed-in user (token `sub`). */
  WRITE_RATE_LIMIT_PER_MINUTE: positiveInt(600),
  /**
   * Redis holding every rate-limit counter, so each limit holds across all gateway replicas. Unset:
   * each gateway counts in its own memory. Unreachable: counted in memory until it answers again.
   */
  REDIS_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^rediss?$/ }).optional()),
  /** Prepended to every rate-limit key in Redis (several deployments may share one Redis). */
  REDIS_KEY_PREFIX: z.string().min(1).default('taskflow:gateway:'),
  /** Take the client address from the last X-Forwarded-For entry (exactly one trusted proxy in front). */
  TRUST_PROXY: z.stringbool().default(false),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}
