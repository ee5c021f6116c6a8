// The route table: which upstream serves each path prefix, and which endpoints need no token here.
import { isCanonicalPath, withoutTrailingSlash } from '@taskflow/shared';

export const upstreamNames = ['identity', 'tenancy', 'work', 'audit', 'webhooks'] as const;
export type UpstreamName = (typeof upstreamNames)[number];

export interface RouteRule {
  /** Path prefix, matched on a segment boundary; also the route label in logs and metrics. */
  prefix: string;
  upstream: UpstreamName;
}

export const routeTable: readonly RouteRule[] = [
  { prefix: '/api/v1/auth', upstream: 'identity' },
  { prefix: '/api/v1/organizations', upstream: 'tenancy' },
  { prefix: '/api/v1/invites', upstream: 'tenancy' },
  { prefix: '/api/v1/projects', upstream: 'work' },
  { prefix: '/api/v1/tasks', upstream: 'work' },
  { prefix: '/api/v1/activity', upstream: 'audit' },
  { prefix: '/api/v1/notifications', upstream: 'audit' },
  { prefix: '/api/v1/webhooks', upstream: 'webhooks' },
];

export interface PublicEndpoint {
  method: 'GET' | 'POST';
  /**
   * Path template without trailing slash, compared segment by segment exactly as the services' routers
   * do (case-sensitively); a `:name` segment is exactly one non-empty segment.
   */
  path: string;
  /** Credential endpoints share the per-address rate limit. */
  credential: boolean;
}

export const LOGIN_PATH = '/api/v1/auth/login';

/** Everything else under a routed prefix needs a valid access token before it leaves the gateway. */
export const publicEndpoints: readonly PublicEndpoint[] = [
  { method: 'POST', path: '/api/v1/auth/register', credential: true },
  { method: 'POST', path: LOGIN_PATH, credential: true },
  { method: 'POST', path: '/api/v1/auth/refresh', credential: true },
  { method: 'POST', path: '/api/v1/auth/logout', credential: true },
  { method: 'POST', path: '/api/v1/auth/verify-email/:token', credential: true },
  { method: 'POST', path: '/api/v1/auth/password-reset', credential: true },
  { method: 'POST', path: '/api/v1/auth/password-reset/:token', credential: true },
  { method: 'GET', path: '/api/v1/auth/jwks', credential: false },
];

/** Literal paths that a public template would match but the service routes to a protected endpoint. */
const protectedLiterals = new Set(['/api/v1/auth/verify-email/resend']);

function matchesTemplate(template: string, path: string): boolean {
  const want = template.split('/');
  const got = path.split('/');
  return want.length === got.length && want.every((segment, i) => (segment.startsWith(':') ? got[i] !== '' : segment === got[i]));
}

/**
 * The upstream serving `path` (raw, as received). A path with a second spelling (see `isCanonicalPath`)
 * belongs to no upstream: it is never forwarded, so no service can read it differently from here.
 */
export function resolveRoute(path: string): RouteRule | undefined {
  if (!isCanonicalPath(path)) return undefined;
  return routeTable.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
}

/** The public endpoint that `method` on `path` (canonical, as `resolveRoute` accepts it) is, if any. */
export function publicEndpoint(method: string, path: string): PublicEndpoint | undefined {
  const exact = withoutTrailingSlash(path);
  if (protectedLiterals.has(exact)) return undefined;
  return publicEndpoints.find((e) => e.method === method && matchesTemplate(e.path, exact));
}
