// Asks identity about the caller's own account (GET /api/v1/auth/me/ with the caller's access token).
import { canonicalEmail } from '@taskflow/shared';
import type { Actor } from '../domain/context';
import type { AccountLookup } from '../domain/verification';

export function identityAccounts(identityUrl: string, timeoutMs = 3000): AccountLookup {
  const url = `${identityUrl.replace(/\/+$/, '')}/api/v1/auth/me/`;
  return {
    async emailVerified(caller: Actor, accessToken: string): Promise<boolean> {
      const res = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(timeoutMs) });
      // Identity does not know the token's account: it is verified nowhere.
      if (res.status === 401) return false;
      if (!res.ok) throw new Error(`identity answered ${res.status}`);
      const me = (await res.json()) as { id?: unknown; email?: unknown; email_verified?: unknown };
      return me.id === caller.id && typeof me.email === 'string' && canonicalEmail(me.email) === canonicalEmail(caller.email) && me.email_verified === true;
    },
  };
}
