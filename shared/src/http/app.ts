// The Koa base every service builds on. Middleware order, outermost first, fits on this screen.
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { type Logger, requestContext } from '../logging';
import { startRequestSpan } from '../tracing/spans';
import { jsonBody } from './body';
import { notFound, toProblem } from './errors';
import { checkReadiness, type ReadinessCheck } from './health';
import { allowedMethods } from './methods';
import { HttpMetrics } from './metrics';
import { isCanonicalPath, withoutTrailingSlash } from './paths';
import { openApiDocument, type WebhookSpec } from './openapi';
import type { ApiRoutes } from './routes';

export interface AppOptions {
  service: string;
  logger: Logger;
  readiness?: Record<string, ReadinessCheck>;
  routes?: ApiRoutes[];
  /** Middleware mounted after the base and before `routes` (the gateway's proxy). */
  middleware?: Middleware[];
  /** Parse JSON bodies before routing (default true; the gateway streams raw bodies instead). */
  parseJson?: boolean;
  /** Trust X-Forwarded-For for the client address (only behind a trusted proxy). */
  trustProxy?: boolean;
  /**
   * A public port (the gateway's): /readyz says only `ok` or `unavailable` per check (no addresses, no
   * error text) and /metrics is not served here (serve `app.metrics` on an internal port instead).
   */
  publicEdge?: boolean;
  version?: string;
  /** The OpenAPI `webhooks` section (requests this service sends to others). */
  openApiWebhooks?: Record<string, WebhookSpec>;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(ctx: Context): string {
  const given = ctx.get('x-request-id');
  return SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

export interface ServiceApp extends Koa {
  metrics: HttpMetrics;
}

/** Socket errors that only mean the client closed its connection first. */
const CLIENT_GONE = new Set(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

export function createApp(options: AppOptions): ServiceApp {
  const { logger, service } = options;
  const app = new Koa({ proxy: options.trustProxy ?? false }) as ServiceApp;
  const metrics = new HttpMetrics(service);
  app.metrics = metrics;
  const routes = options.routes ?? [];
  // Errors that reach Koa's own handler (mostly a response the client left before it was written)
  // go to pino, never to Koa's default console output.
  app.on('error', (err: Error & { code?: string }, ctx?: { state?: { requestId?: string } }) => {
    const request_id = ctx?.state?.requestId;
    if (err.code !== undefined && CLIENT_GONE.has(err.code)) logger.debug({ code: err.code, request_id }, 'response not delivered: the client went away');
    else logger.error({ err, request_id }, 'response failed');
  });

  // 1. Request id, SERVER span (when tracing), context for logs, access log line and metrics.
  app.use(async (ctx, next) => {
    const requestId = requestIdOf(ctx);
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    const span = startRequestSpan(ctx.headers, ctx.method, requestId);
    await requestContext.run({ requestId, ...span?.fields }, async () => {
      try {
        await next();
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? (ctx.state.route as string | undefined) ?? 'unmatched';
        span?.end(String(route), ctx.status);
        metrics.observe(ctx.method, String(route), ctx.status, seconds);
        if (!ctx.state.quietLog) {
          logger.info({ method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
        }
      }
    });
  });

  // 2. Every error, and every unmatched route, becomes problem+json.
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) throw notFound();
    } catch (err) {
      const { problem, headers, expected } = toProblem(err);
      if (!expected) logger.error({ err }, 'unhandled error');
      else if (problem.status >= 500) logger.warn({ code: problem.code, detail: problem.detail }, 'dependency failure');
      ctx.status = problem.status;
      ctx.set(headers);
      ctx.body = problem;
      ctx.type = 'application/problem+json';
    }
  });

  // 3. One spelling per path (else 404), matched with and without its one trailing slash.
  app.use(async (ctx, next) => {
    if (!isCanonicalPath(ctx.path)) throw notFound();
    ctx.path = withoutTrailingSlash(ctx.path);
    await next();
  });

  // 4. A path some route matches, under a method none declares (however unusual), is a 405 with Allow.
  app.use(allowedMethods());

  // 5. Operations endpoints (never authenticated, never proxied).
  const ops = new Router({ sensitive: true });
  ops.get('/healthz', (ctx) => {
    ctx.state.quietLog = true;
    ctx.body = { status: 'ok', service };
  });
  ops.get('/readyz', async (ctx) => {
    ctx.state.quietLog = true;
    const report = await checkReadiness(options.readiness ?? {});
    if (report.status !== 'ok') {
      ctx.status = 503;
      ctx.set('Retry-After', '5');
    }
    if (options.publicEdge) {
      report.checks = Object.fromEntries(Object.entries(report.checks).map(([name, result]) => [name, result === 'ok' ? 'ok' : 'unavailable']));
    }
    ctx.body = { ...report, service };
  });
  if (!options.publicEdge) ops.get('/metrics', serveMetrics(metrics));
  ops.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(`TaskFlow ${service}`, options.version ?? '1.0.0', routes.flatMap((r) => r.specs), options.openApiWebhooks);
  });
  app.use(ops.routes());

  for (const m of options.middleware ?? []) app.use(m);
  if (options.parseJson !== false) app.use(jsonBody());
  for (const r of routes) app.use(r.router.routes());
  return app;
}

/** GET /metrics: Prometheus text of `metrics` and the process. */
export function serveMetrics(metrics: HttpMetrics): Middleware {
  return async (ctx) => {
    ctx.state.quietLog = true;
    const { contentType, body } = await metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  };
}
