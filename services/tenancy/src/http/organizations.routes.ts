// /api/v1/organizations: create, list, read, rename, delete.
import { ApiRoutes, currentUser, etagOf, ifMatchOf, idempotent, sendJsonPage } from '@taskflow/shared';
import type { TenancyDeps } from '../domain/context';
import {
  createOrganization,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  renameOrganization,
} from '../domain/organizations';
import { presentOrganization } from './presenters';
import { listQuery, organizationBody, organizationPage, organizationParams, organizationSchema } from './schemas';

const tags = ['organizations'];

export function organizationRoutes(routes: ApiRoutes, deps: TenancyDeps): ApiRoutes {
  return routes
    .add(
      { method: 'get', path: '/api/v1/organizations', summary: 'Organizations the caller belongs to', tags, query: listQuery, responses: { 200: { description: 'A page of organizations', schema: organizationPage } } },
      async (ctx, { query }) => {
        sendJsonPage(ctx, await listOrganizations(deps, currentUser(ctx), query.limit, query.cursor), query.limit);
      },
    )
    .add(
      { method: 'post', path: '/api/v1/organizations', summary: 'Create an organization (the caller becomes its owner)', tags, body: organizationBody, responses: { 201: { description: 'Created', schema: organizationSchema } } },
      async (ctx, { body }) => {
        const caller = currentUser(ctx);
        const response = await idempotent(ctx, deps.db, caller.id, body, async () => ({
          status: 201,
          body: presentOrganization(await createOrganization(deps, caller, body)),
        }));
        ctx.status = response.status;
        ctx.body = response.body;
      },
    )
    .add(
      { method: 'get', path: '/api/v1/organizations/:id', summary: 'One organization', tags, params: organizationParams, responses: { 200: { description: 'The organization (ETag for If-Match)', schema: organizationSchema } } },
      async (ctx, { params }) => {
        const org = await getOrganization(deps, currentUser(ctx), params.id);
        ctx.set('ETag', etagOf(org.version));
        ctx.body = presentOrganization(org);
      },
    )
    .add(
      {
        method: 'patch',
        path: '/api/v1/organizations/:id',
        summary: 'Rename an organization (owner, admin; honours If-Match)',
        tags,
        params: organizationParams,
        body: organizationBody,
        responses: { 200: { description: 'Renamed', schema: organizationSchema }, 403: { description: 'Members may not rename' }, 412: { description: 'If-Match does not match' } },
      },
      async (ctx, { params, body }) => {
        const org = await renameOrganization(deps, currentUser(ctx), { id: params.id, name: body.name, ifMatch: ifMatchOf(ctx) });
        ctx.set('ETag', etagOf(org.version));
        ctx.body = presentOrganization(org);
      },
    )
    .add(
      {
        method: 'delete',
        path: '/api/v1/organizations/:id',
        summary: 'Delete an organization with its memberships and invites (owner; honours If-Match)',
        tags,
        params: organizationParams,
        responses: { 204: { description: 'Deleted' }, 403: { description: 'Only owners delete' }, 412: { description: 'If-Match does not match' } },
      },
      async (ctx, { params }) => {
        await deleteOrganization(deps, currentUser(ctx), { id: params.id, ifMatch: ifMatchOf(ctx) });
        ctx.status = 204;
      },
    );
}
