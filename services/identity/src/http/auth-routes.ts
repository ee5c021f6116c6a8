// The /api/v1/auth endpoints: validate, call the use case, shape the answer.
import { type AccessTokenVerifier, ApiRoutes, authenticate, currentUser } from '@taskflow/shared';
import type { Middleware } from 'koa';
import { currentAccount, logIn, presentUser, registerUser } from '../domain/accounts';
import { anonymous, type IdentityDeps } from '../domain/context';
import { resendVerification, verifyEmail } from '../domain/email-verification';
import { requestPasswordReset, resetPassword } from '../domain/password-reset';
import { endSession, refreshSession } from '../domain/sessions';
import {
  accountTokenParams,
  jwksSchema,
  loginBody,
  passwordResetBody,
  passwordResetRequestBody,
  refreshBody,
  registerBody,
  tokenPairSchema,
  userSchema,
} from './schemas';

const tags = ['auth'];

/** `admission`: the password-hashing admission (app.ts), run around every handler after validation. */
export function authRoutes(deps: IdentityDeps, verifier: Pick<AccessTokenVerifier, 'verify'>, admission?: Middleware): ApiRoutes {
  const routes = new ApiRoutes({ authenticate: authenticate(verifier), admission });

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/register',
      summary: 'Create an account (a verification link is mailed to the address)',
      tags,
      auth: false,
      body: registerBody,
      responses: { 201: { description: 'The new user, `email_verified: false`', schema: userSchema } },
    },
    async (ctx, { body }) => {
      ctx.status = 201;
      ctx.body = await registerUser(deps, anonymous, body);
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
    async (ctx, { body }) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await logIn(deps, anonymous, body);
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
    async (ctx, { body }) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await refreshSession(deps, anonymous, body);
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
    async (ctx, { body }) => {
      await endSession(deps, anonymous, body);
      ctx.status = 204;
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
    async (ctx) => {
      ctx.body = await currentAccount(deps, currentUser(ctx).id);
    },
  );

  // Before verify-email/{token}: `resend` must not be taken for a token.
  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/verify-email/resend',
      summary: "Mail a new verification link to the caller's address (the previous link stops working)",
      tags,
      responses: { 202: { description: 'Queued (nothing is sent when the address is already verified)' } },
    },
    async (ctx) => {
      await resendVerification(deps, currentUser(ctx));
      ctx.status = 202;
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/verify-email/:token',
      summary: 'Verify the email address with the mailed link (no access token needed)',
      tags,
      auth: false,
      params: accountTokenParams,
      responses: {
        200: { description: 'The user, now `email_verified: true`', schema: userSchema },
        400: {
          description: '`invalid_verification_token` (unknown, already used or replaced by a newer link) or `verification_token_expired` (older than 48 hours)',
          problem: { code: 'invalid_verification_token', detail: 'Invalid verification link' },
        },
      },
    },
    async (ctx, { params }) => {
      ctx.body = presentUser(await verifyEmail(deps, anonymous, params));
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/password-reset',
      summary: 'Mail a password reset link (valid 1 hour) to the account of this address, if there is one',
      tags,
      auth: false,
      body: passwordResetRequestBody,
      responses: { 202: { description: 'Accepted, whether or not the account exists (the answer reveals nothing)' } },
    },
    async (ctx, { body }) => {
      await requestPasswordReset(deps, anonymous, body);
      ctx.status = 202;
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/auth/password-reset/:token',
      summary: 'Set a new password with the mailed link; every session of the user ends',
      tags,
      auth: false,
      params: accountTokenParams,
      body: passwordResetBody,
      responses: {
        204: { description: 'Password changed; every refresh token of the user is revoked (the address counts as verified)' },
        400: {
          description:
            'A password breaking the registration rules (`errors.password`; the link stays usable), or `invalid_reset_token` (unknown, used or replaced) or `reset_token_expired` (older than 1 hour)',
          problem: { code: 'invalid_reset_token', detail: 'Invalid password reset link' },
        },
      },
    },
    async (ctx, { params, body }) => {
      await resetPassword(deps, anonymous, { token: params.token, password: body.password });
      ctx.status = 204;
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
    async (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.body = { keys: deps.keys.jwks };
    },
  );

  return routes;
}
