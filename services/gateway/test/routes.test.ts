import { publicEndpoint, resolveRoute } from '../src/routes';

/** What the gateway makes of `method path`: the upstream, and whether it is public and counted as a credential request. */
const classify = (method: string, path: string) => {
  const rule = resolveRoute(path);
  if (!rule) return 'not routed';
  const endpoint = publicEndpoint(method, path);
  return `${rule.upstream} ${endpoint ? (endpoint.credential ? 'credential' : 'public') : 'token'}`;
};

describe('gateway route classification', () => {
  it.each([
    ['POST', '/api/v1/auth/login/', 'identity credential'],
    ['POST', '/api/v1/auth/login', 'identity credential'],
    ['POST', '/api/v1/auth/register/', 'identity credential'],
    ['POST', '/api/v1/auth/refresh/', 'identity credential'],
    ['POST', '/api/v1/auth/logout/', 'identity credential'],
    ['GET', '/api/v1/auth/jwks/', 'identity public'],
    ['POST', '/api/v1/auth/verify-email/abc123/', 'identity credential'],
    ['POST', '/api/v1/auth/verify-email/abc123', 'identity credential'],
    ['POST', '/api/v1/auth/verify-email/resend/', 'identity token'],
    ['POST', '/api/v1/auth/password-reset/', 'identity credential'],
    ['POST', '/api/v1/auth/password-reset/tok-EN_1/', 'identity credential'],
    ['GET', '/api/v1/auth/me/', 'identity token'],
    ['GET', '/api/v1/tasks/', 'work token'],
    ['GET', '/api/v1/activity/', 'audit token'],
  ])('%s %s is %s', (method, path, expected) => {
    expect(classify(method, path)).toBe(expected);
  });

  it.each([
    // A `{token}` is exactly one non-empty segment.
    ['POST', '/api/v1/auth/verify-email/', 'identity token'],
    ['POST', '/api/v1/auth/verify-email/a/b/', 'identity token'],
    ['POST', '/api/v1/auth/password-reset/a/b/', 'identity token'],
    ['POST', '/api/v1/auth/password-reset/a/confirm/', 'identity token'],
    // Letter case is significant, as in every service's router: such a path is never a public endpoint.
    ['POST', '/api/v1/auth/Login/', 'identity token'],
    ['POST', '/api/v1/auth/LOGIN', 'identity token'],
    ['POST', '/api/v1/auth/Password-Reset/', 'identity token'],
    ['POST', '/api/v1/auth/VERIFY-EMAIL/abc/', 'identity token'],
    // Methods are part of the endpoint.
    ['GET', '/api/v1/auth/login/', 'identity token'],
    ['POST', '/api/v1/auth/jwks/', 'identity token'],
  ])('%s %s is %s', (method, path, expected) => {
    expect(classify(method, path)).toBe(expected);
  });

  it.each([
    '/api/v1/Tasks/',
    '/api/v1/AUTH/login/',
    '/api/v1/auth/%6Cogin/',
    '/api/v1/auth/%6cogin',
    '/api/v1/auth//login/',
    '//api/v1/auth/login/',
    '/api/v1/auth/login//',
    '/api/v1/auth/./login/',
    '/api/v1/x/../auth/login/',
    '/api/v1/auth/%2E%2E/tasks/',
    '/api/v1/auth/verify-email/a%2Fb/',
    '/api/v1/auth\\login',
    '/api/v1/tasksX',
    '/api/v2/tasks/',
  ])('never routes %s', (path) => {
    expect(classify('POST', path)).toBe('not routed');
  });
});
