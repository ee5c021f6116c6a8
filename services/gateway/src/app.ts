// The gateway's Koa app (no listen) and the wiring of its parts from configuration.
import { Closers, createApp, listen, type Logger, refuseOtherMethods, type RunningService, type ServiceApp, type StartOptions, verifierFor } from '@taskflow/shared';
import type { Middleware } from 'koa';
import { Gauge } from 'prom-client';
import type { GatewayConfig } from './config';
import { apiDocs } from './docs';
import { metricsApp } from './metrics-server';
import { OpenApiAggregator } from './openapi';
import { proxy, type ProxyDeps } from './proxy';
import { SlidingWindowLimiter } from './rate-limit';
import { upstreamNames, type UpstreamName } from './routes';
import { type BreakerState, UpstreamClient } from './upstream';

export const OPENAPI_PATH = '/api/v1/openapi.json';

export interface GatewayDeps extends ProxyDeps {
  logger: Logger;
  openApi: OpenApiAggregator;
  trustProxy: boolean;
}

const breakerStateValue: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

function openApiDocument(openApi: OpenApiAggregator): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== OPENAPI_PATH) return next();
    ctx.state.route = OPENAPI_PATH;
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return refuseOtherMethods(ctx, ['GET', 'HEAD']);
    ctx.body = await openApi.document();
  };
}

export function buildApp(deps: GatewayDeps): ServiceApp {
  const { upstreams } = deps;
  const app = createApp({
    service: 'gateway',
    logger: deps.logger,
    parseJson: false,
    trustProxy: deps.trustProxy,
    // Public: readiness says only ok/unavailable per upstream, and /metrics lives on METRICS_PORT.
    publicEdge: true,
    // Ready when every upstream's own /readyz answers 200; each is reported by name.
    readiness: Object.fromEntries(upstreamNames.map((name) => [name, () => upstreams[name].checkReady()])),
    middleware: [openApiDocument(deps.openApi), apiDocs(OPENAPI_PATH), proxy(deps)],
  });
  // Behind a trusted proxy, the client is the address that proxy appended, not one a client wrote.
  if (deps.trustProxy) app.maxIpsCount = 1;
  new Gauge({
    name: 'gateway_upstream_circuit_state',
    help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
    labelNames: ['upstream'],
    registers: [app.metrics.registry],
    collect() {
      for (const name of upstreamNames) this.set({ upstream: name }, breakerStateValue[upstreams[name].state]);
    },
  });
  return app;
}

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
