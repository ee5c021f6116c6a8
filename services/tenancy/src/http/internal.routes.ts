// Internal, service-to-service: one user's membership, for the replicas in work and audit.
// Not routed by the gateway, left out of the public OpenAPI, and guarded by the service credential.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiRoutes, bearerToken, notFound, unauthorized } from '@taskflow/shared';
import type { Context } from 'koa';
import type { TenancyDeps } from '../domain/context';
import { membershipFact } from '../domain/members';
import { internalMembershipParams, membershipFactSchema } from './schemas';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time comparison of the presented bearer credential with the service token. */
function presentsServiceToken(ctx: Context, serviceToken: string): boolean {
  const presented = bearerToken(ctx);
  return presented !== undefined && timingSafeEqual(digest(presented), digest(serviceToken));
}

export function internalRoutes(routes: ApiRoutes, deps: TenancyDeps, serviceToken: string): ApiRoutes {
  return routes.add(
    {
      method: 'get',
      path: '/internal/v1/organizations/:organization_id/members/:user_id',
      summary: "A user's membership (service credential)",
      tags: ['internal'],
      auth: false,
      internal: true,
      responses: { 200: { description: 'The membership', schema: membershipFactSchema }, 401: { description: 'No or wrong service credential' }, 404: { description: 'Not a member' } },
    },
    async (ctx) => {
      // Credential first: without it, nothing about the path is answered.
      if (!presentsServiceToken(ctx, serviceToken)) throw unauthorized('A valid service credential is required.');
      const params = internalMembershipParams.safeParse(ctx.params);
      if (!params.success) throw notFound();
      const fact = await membershipFact(deps, params.data.organization_id, params.data.user_id);
      if (!fact) throw notFound();
      ctx.body = fact;
    },
  );
}
