// /api/v1/projects: validate, call the use case, shape the answer.
import { ApiRoutes, currentUser, type RoutesOptions, ifMatchOf, idempotent, sendJsonPage } from '@taskflow/shared';
import type { WorkDeps } from '../domain/model';
import { createProject, deleteProject, getProject, listProjects, updateProject } from '../domain/projects';
import { presentProject, sendResource } from './present';
import { createProjectBody, idParams, patchProjectBody, projectListQuery, projectPageSchema, projectSchema, putProjectBody } from './schemas';

const tags = ['projects'];
const etag = 'The body, with an `ETag` (the version) to send back in `If-Match`';

export function projectRoutes(deps: WorkDeps, options: RoutesOptions): ApiRoutes {
  const routes = new ApiRoutes(options);

  routes.add(
    {
      method: 'get',
      path: '/api/v1/projects',
      summary: "Projects of the caller's organizations, newest first",
      tags,
      query: projectListQuery,
      responses: { 200: { description: 'A page of projects', schema: projectPageSchema }, 404: { description: '`organization` is not one of the caller’s' } },
    },
    async (ctx, { query }) => {
      const page = await listProjects(deps, currentUser(ctx), { organization: query.organization, after: query.cursor, limit: query.limit });
      sendJsonPage(ctx, page, query.limit);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/projects',
      summary: 'Create a project (owner, admin); honours Idempotency-Key',
      tags,
      body: createProjectBody,
      responses: {
        201: { description: 'The new project', schema: projectSchema },
        403: { description: 'The caller is a member without the role' },
        422: { description: 'The Idempotency-Key was used with a different request' },
      },
    },
    async (ctx, { body }) => {
      const user = currentUser(ctx);
      const response = await idempotent(ctx, deps.db, user.id, body, async () => ({ status: 201, body: presentProject(await createProject(deps, user, body)) }));
      ctx.status = response.status;
      ctx.body = response.body;
    },
  );

  routes.add(
    { method: 'get', path: '/api/v1/projects/:id', summary: 'One project', tags, params: idParams, responses: { 200: { description: etag, schema: projectSchema } } },
    async (ctx, { params }) => {
      const project = await getProject(deps, currentUser(ctx), params.id);
      sendResource(ctx, project, presentProject(project));
    },
  );

  for (const [method, body] of [
    ['patch', patchProjectBody],
    ['put', putProjectBody],
  ] as const) {
    routes.add(
      {
        method,
        path: '/api/v1/projects/:id',
        summary: method === 'put' ? 'Replace a project’s name and description (owner, admin)' : 'Change some of a project’s fields (owner, admin)',
        tags,
        params: idParams,
        body,
        responses: {
          200: { description: etag, schema: projectSchema },
          403: { description: 'The caller is a member without the role' },
          412: { description: '`If-Match` no longer matches; nothing changed' },
        },
      },
      async (ctx, { params, body: changes }) => {
        const project = await updateProject(deps, currentUser(ctx), { id: params.id, changes, ifMatch: ifMatchOf(ctx) });
        sendResource(ctx, project, presentProject(project));
      },
    );
  }

  routes.add(
    {
      method: 'delete',
      path: '/api/v1/projects/:id',
      summary: 'Delete a project and its tasks (owner, admin)',
      tags,
      params: idParams,
      responses: {
        204: { description: 'Deleted, with every task in it' },
        403: { description: 'The caller is a member without the role' },
        412: { description: '`If-Match` no longer matches; nothing changed' },
      },
    },
    async (ctx, { params }) => {
      await deleteProject(deps, currentUser(ctx), { id: params.id, ifMatch: ifMatchOf(ctx) });
      ctx.status = 204;
    },
  );

  return routes;
}
