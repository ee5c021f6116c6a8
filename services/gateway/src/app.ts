// The gateway's Koa app (no listen): OpenAPI document, docs page and the proxy on the shared base.
import { createApp, type Logger, refuseOtherMethods, type ServiceApp } from '@taskflow/shared';
import type { Middleware } from 'koa';
import { Gauge } from 'prom-client';
import { apiDocs } from './docs';
import type { OpenApiAggregator } from './openapi';
import { proxy, type ProxyDeps } from './proxy';
import { upstreamNames } from './routes';
import { breakerStateValue } from './endpoint';

export const OPENAPI_PATH = '/api/v1/openapi.json';

export interface GatewayDeps extends ProxyDeps {
  logger: Logger;
  openApi: OpenApiAggregator;
  trustProxy: boolean;
}

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
    help: 'Circuit breaker state per upstream: 0 closed (some endpoint is), 1 half-open, 2 open (every endpoint is)',
    labelNames: ['upstream'],
    registers: [app.metrics.registry],
    collect() {
      for (const name of upstreamNames) this.set({ upstream: name }, breakerStateValue[upstreams[name].state]);
    },
  });
  return app;
}
