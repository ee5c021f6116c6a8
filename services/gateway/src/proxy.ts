// The request path through the gateway: route, token, rate limits, body limit, forward, relay.
import { AppError, type AccessTokenVerifier, authenticate, hasBody, notFound, readRawBody } from '@taskflow/shared';
import type { Context, Middleware } from 'koa';
import type { SlidingWindowLimiter } from './rate-limit';
import { hasDotSegment, LOGIN_PATH, publicEndpoint, resolveRoute, type UpstreamName } from './routes';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from './upstream';

export interface ProxyDeps {
  upstreams: Record<UpstreamName, UpstreamClient>;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  /** Per client address, over register/login/refresh/logout together. */
  credentialLimiter: SlidingWindowLimiter;
  /** Failed logins per client address and email. */
  loginFailures: SlidingWindowLimiter;
}

/** Request headers an upstream may see; everything else (hop-by-hop, cookies, x-user-*, ...) stays here. */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'idempotency-key', 'if-match', 'if-none-match'];
/** Upstream response headers the client may see. */
const RELAYED_RESPONSE_HEADERS = ['content-type', 'etag', 'location', 'link', 'retry-after', 'www-authenticate', 'cache-control', 'idempotent-replayed'];

const rateLimited = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', 'Too many requests; retry later.', undefined, { 'Retry-After': String(retryAfterSeconds) });


function forwardedHeaders(ctx: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = ctx.get(name);
    if (value !== '') headers[name] = value;
  }
  headers['x-request-id'] = ctx.state.requestId as string;
  headers['x-forwarded-for'] = ctx.ip;
  headers['x-forwarded-proto'] = ctx.protocol;
  return headers;
}

function relay(ctx: Context, response: UpstreamResponse): void {
  ctx.status = response.status;
  for (const name of RELAYED_RESPONSE_HEADERS) {
    const value = response.headers[name];
    if (value !== undefined) ctx.set(name, value);
  }
  // Always a Buffer (possibly empty): Koa would otherwise write the status text as the body.
  ctx.body = response.body;
}

/** `ip + email` of a login attempt, or undefined when the body names no email (identity answers 400). */
function loginKey(ip: string, body: Buffer | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { email?: unknown };
    if (typeof parsed?.email !== 'string') return undefined;
    return `${ip} ${parsed.email.trim().toLowerCase()}`;
  } catch {
    return undefined;
  }
}

export function proxy(deps: ProxyDeps): Middleware {
  const requireToken = authenticate(deps.verifier);
  return async (ctx, next) => {
    const rule = resolveRoute(ctx.path);
    if (!rule) return next();
    // The route label, never the raw path: invite-accept paths carry a secret token.
    ctx.state.route = rule.prefix;
    if (hasDotSegment(ctx.path)) throw notFound();
    const endpoint = publicEndpoint(ctx.method, ctx.path);

    const forward = async () => {
      if (endpoint?.credential) {
        const decision = deps.credentialLimiter.take(ctx.ip);
        if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
      }
      const body = hasBody(ctx) ? await readRawBody(ctx) : undefined;
      const failureKey = endpoint?.path === LOGIN_PATH ? loginKey(ctx.ip, body) : undefined;
      if (failureKey) {
        const decision = deps.loginFailures.check(failureKey);
        if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
      }
      const request: UpstreamRequest = { method: ctx.method, path: ctx.originalUrl, headers: forwardedHeaders(ctx), body };
      const response = await deps.upstreams[rule.upstream].forward(request);
      if (failureKey && response.status === 401) deps.loginFailures.record(failureKey);
      else if (failureKey && response.status >= 200 && response.status < 300) deps.loginFailures.reset(failureKey);
      relay(ctx, response);
    };

    if (endpoint) await forward();
    else await requireToken(ctx, forward);
  };
}
