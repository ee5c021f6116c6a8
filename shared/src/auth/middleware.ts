// Koa middleware that requires a valid bearer access token and records the caller.
import type { Context, Middleware } from 'koa';
import { unauthorized } from '../http/errors';
import { requestContext } from '../logging';
import type { AccessClaims, AccessTokenVerifier } from './verifier';

export interface AuthUser {
  id: string;
  email: string;
}

/** When the caller's access token expires (ms since the epoch); long-lived responses (event streams) end there. */
export function tokenExpiresAt(ctx: Context): number {
  const exp = ctx.state.tokenExpiresAt as number | undefined;
  if (exp === undefined) throw unauthorized();
  return exp;
}

export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  return match?.[1];
}

export function currentUser(ctx: Context): AuthUser {
  const user = ctx.state.user as AuthUser | undefined;
  if (!user) throw unauthorized();
  return user;
}

export function authenticate(verifier: Pick<AccessTokenVerifier, 'verify'>): Middleware {
  return async (ctx, next) => {
    const token = bearerToken(ctx);
    if (!token) throw unauthorized();
    const claims: AccessClaims = await verifier.verify(token);
    ctx.state.user = { id: claims.sub, email: claims.email } satisfies AuthUser;
    ctx.state.tokenExpiresAt = claims.exp * 1000;
    const store = requestContext.getStore();
    if (store) store.userId = claims.sub;
    await next();
  };
}
