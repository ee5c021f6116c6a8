// The /api/v1/auth endpoints: validate, call the use case, shape the answer.
import { AccessTokenVerifier, ApiRoutes, authenticate, currentUser } from '@taskflow/shared';
import { currentAccount, logIn, registerUser } from '../domain/accounts';
import type { IdentityContext } from '../domain/context';
import { endSession, refreshSession } from '../domain/sessions';
import { jwksSchema, loginBody, refreshBody, registerBody, tokenPairSchema, userSchema } from './schemas';

const tags = ['auth'];

export function authRoutes(ctx: IdentityContext): ApiRoutes {
  // Verifies exactly as every other service does, but reads the keys from memory instead of over HTTP.
  const verifier = new AccessTokenVerifier({
    issuer: ctx.settings.issuer,
    audience: ctx.settings.audience,
    fetchKeys: async () => ctx.keys.jwks,
  });
  const routes = new ApiRoutes({ authenticate: authenticate(verifier) });

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Create an account',
      tags,
      auth: false,
      body: registerBody,
      responses: { 201: { description: 'The new user', schema: userSchema } },
    },
    async (http, { body }) => {
      http.status = 201;
      http.body = await registerUser(ctx, body);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/login',
      summary: 'Log in with email and password',
      tags,
      auth: false,
      body: loginBody,
      responses: {
        200: { description: 'An access token and a refresh token', schema: tokenPairSchema },
        401: {
          description: 'Wrong email or password (`invalid_credentials`, the same answer for both)',
          problem: { code: 'invalid_credentials', detail: 'No active account found with the given credentials' },
        },
      },
    },
    async (http, { body }) => {
      http.set('Cache-Control', 'no-store');
      http.body = await logIn(ctx, body);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/refresh',
      summary: 'Exchange a refresh token for a new access token and a new refresh token',
      tags,
      auth: false,
      body: refreshBody,
      responses: {
        200: { description: 'A new pair; the refresh token sent is now spent', schema: tokenPairSchema },
        401: {
          description:
            'Unknown, expired, revoked or already used refresh token (`token_not_valid`). Reusing a spent token also revokes every token of its session.',
          problem: { code: 'token_not_valid', detail: 'Token is invalid or expired.' },
        },
      },
    },
    async (http, { body }) => {
      http.set('Cache-Control', 'no-store');
      http.body = await refreshSession(ctx, body.refresh);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/logout',
      summary: 'End the session of a refresh token (the refresh token is the credential; no access token needed)',
      tags,
      auth: false,
      body: refreshBody,
      responses: {
        204: {
          description:
            'The refresh token and every token rotated from it stop working. Also 204 for an unknown or expired token, so the answer reveals nothing.',
        },
      },
    },
    async (http, { body }) => {
      await endSession(ctx, body.refresh);
      http.status = 204;
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/v1/auth/me',
      summary: 'The current user',
      tags,
      responses: { 200: { description: 'The user the access token belongs to', schema: userSchema } },
    },
    async (http) => {
      http.body = await currentAccount(ctx, currentUser(http).id);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/v1/auth/jwks',
      summary: 'Public keys that sign access tokens (JWKS)',
      tags,
      auth: false,
      responses: { 200: { description: 'The current key and, after a rotation, the previous one', schema: jwksSchema } },
    },
    async (http) => {
      http.set('Cache-Control', 'public, max-age=300');
      http.body = { keys: ctx.keys.jwks };
    },
  );

  return routes;
}
