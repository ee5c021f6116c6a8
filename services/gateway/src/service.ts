// The gateway, composed: upstream clients (one breaker each) -> token verifier -> rate limiters -> merged
// OpenAPI -> app -> metrics server (METRICS_PORT) -> listen. `close()` stops the servers, then the clients.
import { Closers, listen, type Logger, type RunningService, type ServiceApp, type StartOptions, verifierFor } from '@taskflow/shared';
import { buildApp } from './app';
import type { GatewayConfig } from './config';
import { metricsApp } from './metrics-server';
import { OpenApiAggregator } from './openapi';
import { SlidingWindowLimiter } from './rate-limit';
import { upstreamNames, type UpstreamName } from './routes';
import { UpstreamClient } from './upstream';

export interface Gateway {
  app: ServiceApp;
  /** Stops timers and drops pooled upstream sockets; call after the server has closed. */
  close(): Promise<void>;
}

export function createGateway(config: GatewayConfig, logger: Logger): Gateway {
  const baseUrls: Record<UpstreamName, string> = {
    identity: config.IDENTITY_URL,
    tenancy: config.TENANCY_URL,
    work: config.WORK_URL,
    audit: config.AUDIT_URL,
    webhooks: config.WEBHOOKS_URL,
  };
  const upstreams = Object.fromEntries(
    upstreamNames.map((name) => [
      name,
      new UpstreamClient({ name, baseUrl: baseUrls[name], timeoutMs: config.UPSTREAM_TIMEOUT_MS, breakerResetMs: config.BREAKER_RESET_MS, logger }),
    ]),
  ) as Record<UpstreamName, UpstreamClient>;
  const verifier = verifierFor(config);
  const credentialLimiter = new SlidingWindowLimiter({ limit: config.AUTH_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 });
  const loginFailures = new SlidingWindowLimiter({ limit: config.LOGIN_FAILURE_LIMIT, windowMs: config.LOGIN_FAILURE_WINDOW_SECONDS * 1000 });
  const writeLimiter = new SlidingWindowLimiter({ limit: config.WRITE_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 });
  const openApi = new OpenApiAggregator(upstreamNames.map((name) => ({ name, fetch: () => upstreams[name].getJson('/openapi.json') })));
  const app = buildApp({ logger, upstreams, verifier, credentialLimiter, loginFailures, writeLimiter, openApi, trustProxy: config.TRUST_PROXY });
  return {
    app,
    async close() {
      await Promise.all([credentialLimiter.close(), loginFailures.close(), writeLimiter.close()]);
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
  closers.add(() => gateway.close());
  return closers.guard(async () => {
    const metrics = await listen(metricsApp(gateway.app.metrics), config.METRICS_PORT, config.HOST);
    closers.add(() => metrics.close(options.closeGraceMs));
    const running = await closers.serve(gateway.app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
    return { ...running, metricsUrl: metrics.url };
  });
}
