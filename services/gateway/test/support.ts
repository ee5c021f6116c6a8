// Real HTTP upstreams for gateway tests: an echoing fake service and a token issuer with a JWKS.
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { ApiRoutes, AppError, createApp, createLogger, decodeJsonBody, listen, readRawBody, type RunningServer } from '@taskflow/shared';
import jwt from 'jsonwebtoken';
import type { Context } from 'koa';

export interface RecordedCall {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeService {
  url: string;
  calls: RecordedCall[];
  /** When set, every /api call is answered with this status (e.g. 503 to trip the breaker). */
  failWith?: number;
  callsTo(pathPrefix: string): RecordedCall[];
  close(): Promise<void>;
}

export interface TokenIssuer {
  kid: string;
  jwks: { keys: Array<Record<string, unknown>> };
  /** `expiresIn: null` leaves out `exp` (a token that would never expire). */
  sign(claims?: { sub?: string; email?: string; audience?: string; expiresIn?: number | null }, key?: KeyObject): string;
}

export const ISSUER = 'taskflow-identity';
export const AUDIENCE = 'taskflow-api';

export function createTokenIssuer(): TokenIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  return {
    kid,
    jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] },
    sign(claims = {}, key = privateKey) {
      return jwt.sign({ email: claims.email ?? 'ann@example.com' }, key, {
        algorithm: 'RS256',
        keyid: kid,
        issuer: ISSUER,
        audience: claims.audience ?? AUDIENCE,
        subject: claims.sub ?? randomUUID(),
        jwtid: randomUUID(),
        ...(claims.expiresIn === null ? {} : { expiresIn: claims.expiresIn ?? 900 }),
      });
    },
  };
}

/** A different key under the same `kid`: the signature must not verify. */
export function foreignKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Answers every /api request by echoing what it received, with query switches:
 * `?fake_status=NNN` answers that status, `?fake_sleep=MS` waits first, `?fake_reset=1` destroys the socket.
 * Optional extra routes (declared with ApiRoutes, so they also appear in its /openapi.json) win.
 * `port` 0 takes any free port; a given one brings an endpoint back where it was.
 */
export async function startFakeService(name: string, addRoutes?: (routes: ApiRoutes) => void, port = 0): Promise<FakeService> {
  const routes = new ApiRoutes();
  addRoutes?.(routes);
  let server: RunningServer;
  const fake: FakeService = {
    url: '',
    calls: [],
    callsTo: (prefix) => fake.calls.filter((c) => c.url.startsWith(prefix)),
    close: () => server.close(1000),
  };
  const record = async (ctx: Context, next: () => Promise<unknown>) => {
    if (!ctx.path.startsWith('/api/')) return next();
    const body = (await readRawBody(ctx)).toString('utf8');
    (ctx.state as { rawBody?: string }).rawBody = body;
    fake.calls.push({ method: ctx.method, url: ctx.originalUrl, headers: { ...ctx.headers }, body });
    if (fake.failWith) throw new AppError(fake.failWith, 'service_unavailable', `${name} is failing`, undefined, { 'Retry-After': '7' });
    if (ctx.query.fake_sleep) await sleep(Number(ctx.query.fake_sleep));
    if (ctx.query.fake_reset) {
      ctx.req.socket.destroy();
      return;
    }
    if (ctx.query.fake_status) throw new AppError(Number(ctx.query.fake_status), 'as_requested', `answered ${String(ctx.query.fake_status)} as asked`);
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    ctx.status = ctx.method === 'POST' ? 201 : 200;
    ctx.set('ETag', '"v1"');
    ctx.set('Location', '/api/v1/somewhere/1/');
    ctx.set('Link', '</api/v1/next/>; rel="next"');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Internal-Debug', 'secret-internal-detail');
    ctx.set('Set-Cookie', 'upstream=1');
    ctx.body = { service: name, method: ctx.method, url: ctx.originalUrl, headers: ctx.headers, body };
  };
  const app = createApp({ service: name, logger: createLogger(name, 'silent'), parseJson: false, middleware: [record], routes: [routes] });
  server = await listen(app, port, '127.0.0.1');
  fake.url = server.url;
  return fake;
}

/** The identity fake: a JWKS, and a login that accepts only the password "right". */
export function identityRoutes(issuer: TokenIssuer) {
  return (routes: ApiRoutes) => {
    routes.add(
      { method: 'get', path: '/api/v1/auth/jwks', summary: 'JWKS', tags: ['auth'], auth: false, responses: { 200: { description: 'keys' } } },
      async (ctx) => {
        ctx.body = issuer.jwks;
      },
    );
    routes.add(
      { method: 'post', path: '/api/v1/auth/login', summary: 'Log in', tags: ['auth'], auth: false, responses: { 200: { description: 'tokens' } } },
      async (ctx) => {
        // Read as identity reads it (a BOM is dropped), so the gateway's view of the body can be checked against it.
        const { password } = (decodeJsonBody(Buffer.from((ctx.state as { rawBody: string }).rawBody)) ?? {}) as { password?: string };
        if (password !== 'right') throw new AppError(401, 'invalid_credentials', 'No active account found with the given credentials');
        ctx.body = { access: issuer.sign(), refresh: 'r', token_type: 'Bearer', expires_in: 900 };
      },
    );
  };
}

/** A free port with nothing listening on it. */
export const CLOSED_URL = 'http://127.0.0.1:1';
