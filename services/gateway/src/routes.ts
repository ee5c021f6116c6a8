// The route table: which upstream serves each path prefix, and which endpoints need no token here.

export const upstreamNames = ['identity', 'tenancy', 'work', 'audit'] as const;
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
];

export interface PublicEndpoint {
  method: 'GET' | 'POST';
  /** Exact path without trailing slash (the app base strips it before routing). */
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
  { method: 'GET', path: '/api/v1/auth/jwks', credential: false },
];

export function resolveRoute(path: string): RouteRule | undefined {
  return routeTable.find((r) => path === r.prefix || path.startsWith(`${r.prefix}/`));
}

export function publicEndpoint(method: string, path: string): PublicEndpoint | undefined {
  return publicEndpoints.find((e) => e.method === method && e.path === path);
}

/** `.` or `..` segments, raw or percent-encoded: never forwarded, so no upstream has to normalise them. */
export function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
}
