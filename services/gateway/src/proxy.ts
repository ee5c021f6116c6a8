// The request path through the gateway: route, token, rate limits, body limit, forward, copy the response back.
import { AppError, type AccessTokenVerifier, authenticate, canonicalEmail, currentUser, decodeJsonBody, hasBody, inClientSpan, readRawBody } from '@taskflow/shared';
import type { Context, Middleware } from 'koa';
import type { RateLimiter } from './rate-limit';
import { LOGIN_PATH, publicEndpoint, resolveRoute, type RouteRule, type UpstreamName } from './routes';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse, UpstreamStream } from './upstream';

export interface ProxyDeps {
  upstreams: Record<UpstreamName, UpstreamClient>;
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  /** Per client address, over the credential endpoints together. */
  credentialLimiter: RateLimiter;
  /** Failed logins per client address and email; an attempt is reserved before it is forwarded. */
  loginFailures: RateLimiter;
  /** Writes per signed-in user. */
  writeLimiter: RateLimiter;
}

/** Request headers an upstream may see; everything else (hop-by-hop, cookies, x-user-*, ...) stays here. */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'idempotency-key', 'if-match', 'if-none-match', 'last-event-id'];
/** Upstream response headers the client may see. */
const COPIED_RESPONSE_HEADERS = ['content-type', 'etag', 'location', 'link', 'retry-after', 'www-authenticate', 'cache-control', 'idempotent-replayed', 'allow'];
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const rateLimited = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', 'Too many requests; retry later.', undefined, { 'Retry-After': String(retryAfterSeconds) });

/** Counts one hit for `key` or refuses the request with 429 + Retry-After. */
async function takeOrRefuse(limiter: RateLimiter, key: string): Promise<string | undefined> {
  const decision = await limiter.take(key);
  if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
  return decision.hit;
}

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

function copyResponse(ctx: Context, response: UpstreamResponse): void {
  ctx.status = response.status;
  for (const name of COPIED_RESPONSE_HEADERS) {
    const value = response.headers[name];
    if (value !== undefined) ctx.set(name, value);
  }
  if (response.stream?.events) return relayStream(ctx, response.stream);
  if (response.stream) return relayBody(ctx, response.stream);
  // Always a Buffer (possibly empty): Koa would otherwise write the status text as the body.
  ctx.body = response.body;
}

/**
 * An event stream is passed on chunk by chunk, at once (no Nagle delay, no proxy buffering).
 */
function relayStream(ctx: Context, stream: UpstreamStream): void {
  ctx.set('Cache-Control', 'no-cache, no-transform');
  ctx.set('X-Accel-Buffering', 'no');
  ctx.req.socket.setNoDelay(true);
  pipeToClient(ctx, stream);
  ctx.res.flushHeaders();
}

/**
 * A large body goes to the client as it arrives (never held whole here), with its length. Its status
 * and headers are sent first, so an upstream that breaks off mid-body can only be passed on as a cut
 * connection.
 */
function relayBody(ctx: Context, stream: UpstreamStream): void {
  const length = stream.body.headers['content-length'];
  if (length !== undefined) ctx.length = Number(length);
  pipeToClient(ctx, stream);
}

/**
 * Pipes outside Koa's response handling (which would report the client's leaving as an error): a
 * client that leaves closes the upstream request, and an upstream that breaks off cuts the client's
 * connection rather than leaving it waiting.
 */
function pipeToClient(ctx: Context, stream: UpstreamStream): void {
  ctx.respond = false;
  ctx.res.once('close', () => {
    if (!stream.body.complete) stream.cancel();
  });
  ctx.res.on('error', () => stream.cancel());
  stream.body.once('close', () => {
    if (!stream.body.complete) ctx.res.destroy();
  });
  stream.body.on('error', () => ctx.res.destroy());
  stream.body.pipe(ctx.res);
}

/** The email of a login body, read exactly as identity reads it, or undefined when it names none (identity answers 400). */
function loginEmail(body: Buffer | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = decodeJsonBody(body) as { email?: unknown } | null | undefined;
    return typeof parsed?.email === 'string' ? parsed.email : undefined;
  } catch {
    return undefined;
  }
}

export function proxy(deps: ProxyDeps): Middleware {
  const requireToken = authenticate(deps.verifier);

  const forward = async (ctx: Context, rule: RouteRule, body: Buffer | undefined): Promise<UpstreamResponse> => {
    // The path classified here (one spelling, see resolveRoute) with the client's trailing slash, never the raw request target.
    const slash = ctx.originalUrl.split('?')[0]!.endsWith('/') ? '/' : '';
    const request: UpstreamRequest = { method: ctx.method, path: `${ctx.path}${slash}${ctx.search}`, headers: forwardedHeaders(ctx), body };
    // A CLIENT span (when tracing) whose traceparent the upstream continues.
    return inClientSpan(rule.upstream, ctx.method, request.headers, () => deps.upstreams[rule.upstream].forward(request));
  };
  const readBody = (ctx: Context) => (hasBody(ctx) ? readRawBody(ctx) : Promise.resolve(undefined));

  /**
   * A login attempt holds one place under the failure limit while identity checks it: a success clears
   * the pair; only an answer saying identity checked nothing (a 4xx other than 401: malformed input)
   * gives the place back. A 401 keeps it, and so does no answer, a timeout or a 5xx: identity may have
   * checked that guess after the gateway stopped waiting. So the limit holds even when identity is slow.
   */
  const login = async (ctx: Context, rule: RouteRule, body: Buffer | undefined): Promise<UpstreamResponse> => {
    const email = loginEmail(body);
    if (email === undefined) return forward(ctx, rule, body);
    const key = `${ctx.ip} ${canonicalEmail(email)}`;
    const hit = await takeOrRefuse(deps.loginFailures, key);
    let response: UpstreamResponse | undefined;
    try {
      response = await forward(ctx, rule, body);
      return response;
    } finally {
      const status = response?.status;
      if (status !== undefined && status >= 200 && status < 300) await deps.loginFailures.reset(key);
      else if (status !== undefined && status >= 400 && status < 500 && status !== 401 && hit !== undefined) await deps.loginFailures.release(key, hit);
      /* else: a failure, or an attempt whose outcome is unknown: the place stays taken */
    }
  };

  return async (ctx, next) => {
    const rule = resolveRoute(ctx.path);
    if (!rule) return next();
    // The route label, never the raw path: invite-accept paths carry a secret token.
    ctx.state.route = rule.prefix;
    const endpoint = publicEndpoint(ctx.method, ctx.path);

    if (endpoint) {
      if (endpoint.credential) await takeOrRefuse(deps.credentialLimiter, ctx.ip);
      const body = await readBody(ctx);
      copyResponse(ctx, endpoint.path === LOGIN_PATH ? await login(ctx, rule, body) : await forward(ctx, rule, body));
      return;
    }
    await requireToken(ctx, async () => {
      if (WRITE_METHODS.has(ctx.method)) await takeOrRefuse(deps.writeLimiter, currentUser(ctx).id);
      copyResponse(ctx, await forward(ctx, rule, await readBody(ctx)));
    });
  };
}
