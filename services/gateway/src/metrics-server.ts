// The gateway's /metrics on its own port (METRICS_PORT), kept off the public one.
import { type HttpMetrics, serveMetrics } from '@taskflow/shared';
import Koa from 'koa';

export function metricsApp(metrics: HttpMetrics): Koa {
  const app = new Koa();
  const render = serveMetrics(metrics);
  app.use(async (ctx, next) => {
    if (ctx.path === '/metrics' && (ctx.method === 'GET' || ctx.method === 'HEAD')) return render(ctx, next);
    ctx.status = 404;
    ctx.body = 'Not found';
  });
  return app;
}
