// The gateway, composed: upstream clients (one breaker per endpoint) -> token verifier -> rate limiters (Redis or memory) -> merged
// OpenAPI -> app -> metrics server (METRICS_PORT) -> listen. `close()` stops the servers, then the clients.
import { AccessTokenVerifier, Closers, type Jwk, listen, type Logger, type RunningService, type ServiceApp, type StartOptions } from '@taskflow/shared';
import { Gauge } from 'prom-client';
import { buildApp } from './app';
import type { GatewayConfig } from './config';
import { metricsApp } from './metrics-server';
import { OpenApiAggregator } from './openapi';
import { type RateLimiter, SlidingWindowLimiter } from './rate-limit';
import { upstreamNames, type UpstreamName } from './routes';
import { type LimitBackendName, SharedLimitStore } from './shared-limits';
import { UpstreamClient } from './upstream';
import { UpstreamMetrics } from './upstream-metrics';

export interface Gateway {
  app: ServiceApp;
  /** Opens the connection to Redis when configured (waiting briefly: the limits count in memory until it answers). */
  connect(): Promise<void>;
  /** Stops timers and drops pooled upstream sockets; call after the server has closed. */
  close(): Promise<void>;
}

export function createGateway(config: GatewayConfig, logger: Logger): Gateway {
  const baseUrls: Record<UpstreamName, string[]> = {
    identity: config.IDENTITY_URL,
    tenancy: config.TENANCY_URL,
    work: config.WORK_URL,
    audit: config.AUDIT_URL,
    webhooks: config.WEBHOOKS_URL,
  };
  const upstreamMetrics = new UpstreamMetrics();
  const upstreams = Object.fromEntries(
    upstreamNames.map((name) => [
      name,
      new UpstreamClient({ name, baseUrls: baseUrls[name], timeoutMs: config.UPSTREAM_TIMEOUT_MS, breakerResetMs: config.BREAKER_RESET_MS, logger, metrics: upstreamMetrics }),
    ]),
  ) as Record<UpstreamName, UpstreamClient>;
  upstreamMetrics.watch(Object.values(upstreams));
  // The signing keys, from whichever identity endpoint answers.
  const verifier = new AccessTokenVerifier({
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    fetchKeys: async () => ((await upstreams.identity.getJson('/api/v1/auth/jwks/')) as { keys?: Jwk[] }).keys ?? [],
  });
  const shared = config.REDIS_URL ? new SharedLimitStore({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, logger }) : undefined;
  // Every limit counts in memory without Redis, and whenever Redis cannot answer.
  const limit = (name: string, perWindow: number, windowMs: number): RateLimiter => {
    const memory = new SlidingWindowLimiter({ limit: perWindow, windowMs });
    return shared ? shared.limiter(name, perWindow, windowMs, memory) : memory;
  };
  const credentialLimiter = limit('auth', config.AUTH_RATE_LIMIT_PER_MINUTE, 60_000);
  const loginFailures = limit('login-failures', config.LOGIN_FAILURE_LIMIT, config.LOGIN_FAILURE_WINDOW_SECONDS * 1000);
  const writeLimiter = limit('writes', config.WRITE_RATE_LIMIT_PER_MINUTE, 60_000);
  const openApi = new OpenApiAggregator(upstreamNames.map((name) => ({ name, fetch: () => upstreams[name].getJson('/openapi.json') })));
  const app = buildApp({ logger, upstreams, verifier, credentialLimiter, loginFailures, writeLimiter, openApi, trustProxy: config.TRUST_PROXY });
  app.metrics.include(upstreamMetrics.registry);
  new Gauge({
    name: 'gateway_rate_limit_backend',
    help: 'Where the rate limits are counted: 1 for the backend in use (redis: shared by all gateways; memory: this gateway only)',
    labelNames: ['backend'],
    registers: [app.metrics.registry],
    collect() {
      const current: LimitBackendName = shared?.backend ?? 'memory';
      for (const backend of ['redis', 'memory'] as const) this.set({ backend }, backend === current ? 1 : 0);
    },
  });
  return {
    app,
    connect: () => shared?.connect() ?? Promise.resolve(),
    async close() {
      await Promise.all([credentialLimiter.close(), loginFailures.close(), writeLimiter.close()]);
      await shared?.close();
      for (const upstream of Object.values(upstreams)) upstream.close();
    },
  };
}

export interface RunningGateway extends RunningService {
  /** Where Prometheus scrapes the gateway (METRICS_PORT), apart from the public URL. */
  metricsUrl: string;
}

/** The gateway, composed (upstream clients, token verifier, limits) and listening; `close()` stops the servers, then the clients. */
export async function startGatewayService(config: GatewayConfig, logger: Logger, options: Pick<StartOptions, 'port' | 'closeGraceMs'> = {}): Promise<RunningGateway> {
  const closers = new Closers();
  const gateway = createGateway(config, logger);
  logger.info({ identity: config.IDENTITY_URL, tenancy: config.TENANCY_URL, work: config.WORK_URL, audit: config.AUDIT_URL, webhooks: config.WEBHOOKS_URL }, 'upstreams');
  if (!config.REDIS_URL) logger.info({ rate_limit_backend: 'memory' }, 'rate limits counted per gateway (REDIS_URL unset)');
  closers.add(() => gateway.close());
  return closers.guard(async () => {
    await gateway.connect();
    const metrics = await listen(metricsApp(gateway.app.metrics), config.METRICS_PORT, config.HOST);
    closers.add(() => metrics.close(options.closeGraceMs));
    const running = await closers.serve(gateway.app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
    return { ...running, metricsUrl: metrics.url };
  });
}
