// Which methods a routed path allows: any other method, known to the server or not, is a JSON 405 with `Allow`.
import type { Context, Middleware } from 'koa';
import { AppError } from './errors';

interface MatchedLayer {
  methods: string[];
}

export const methodNotAllowed = (allowed: readonly string[]) =>
  new AppError(405, 'method_not_allowed', 'Method not allowed on this path.', undefined, { Allow: allowed.join(', ') });

/** Answers OPTIONS with `Allow` (204) and refuses any other method not in `allowed` with a 405. */
export function refuseOtherMethods(ctx: Context, allowed: readonly string[]): void {
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    ctx.set('Allow', allowed.join(', '));
    return;
  }
  throw methodNotAllowed(allowed);
}

/**
 * Mounted before every router: when a router matched the path but no route the method (nothing answered),
 * answers as `refuseOtherMethods` does with the methods the matched routes declare.
 */
export function allowedMethods(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const matched = ((ctx as { matched?: MatchedLayer[] }).matched ?? []).flatMap((layer) => layer.methods);
    if (matched.length === 0) return;
    refuseOtherMethods(ctx, [...new Set(matched)]);
  };
}
