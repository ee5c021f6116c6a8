// /api/v1/organizations/:id/members: list, change a role, remove (yourself = leave).
import { ApiRoutes, currentUser, etagOf, ifMatchOf, sendJsonPage } from '@taskflow/shared';
import type { TenancyDeps } from '../domain/context';
import { changeMemberRole, listMembers, removeMember } from '../domain/members';
import { presentMember } from './presenters';
import { listQuery, memberPage, memberParams, memberRoleBody, memberSchema, organizationParams } from './schemas';

const tags = ['members'];
const conflicts = {
  403: { description: 'The caller may not act on this member' },
  409: { description: '`last_owner`: an organization keeps at least one owner', problem: { code: 'last_owner', detail: 'An organization must always keep at least one owner.' } },
  412: { description: 'If-Match does not match' },
};

export function memberRoutes(routes: ApiRoutes, deps: TenancyDeps): ApiRoutes {
  return routes
    .add(
      { method: 'get', path: '/api/v1/organizations/:id/members', summary: 'Members of an organization', tags, params: organizationParams, query: listQuery, responses: { 200: { description: 'A page of members', schema: memberPage } } },
      async (ctx, { params, query }) => {
        sendJsonPage(ctx, await listMembers(deps, currentUser(ctx), params.id, query.limit, query.cursor), query.limit);
      },
    )
    .add(
      {
        method: 'patch',
        path: '/api/v1/organizations/:id/members/:user_id',
        summary: "Change a member's role (admins: members and admins only, never to owner)",
        tags,
        params: memberParams,
        body: memberRoleBody,
        responses: { 200: { description: 'The member (ETag for If-Match)', schema: memberSchema }, ...conflicts },
      },
      async (ctx, { params, body }) => {
        const member = await changeMemberRole(deps, currentUser(ctx), { organizationId: params.id, userId: params.user_id, role: body.role, ifMatch: ifMatchOf(ctx) });
        ctx.set('ETag', etagOf(member.version));
        ctx.body = presentMember(member);
      },
    )
    .add(
      {
        method: 'delete',
        path: '/api/v1/organizations/:id/members/:user_id',
        summary: 'Remove a member, or leave when it is yourself',
        tags,
        params: memberParams,
        responses: { 204: { description: 'Removed' }, ...conflicts },
      },
      async (ctx, { params }) => {
        await removeMember(deps, currentUser(ctx), { organizationId: params.id, userId: params.user_id, ifMatch: ifMatchOf(ctx) });
        ctx.status = 204;
      },
    );
}
