// /api/v1/projects: validate, call the use case, shape the answer.
import { ApiRoutes, currentUser, ifMatchOf, idempotent, toPage } from '@taskflow/shared';
import type { Middleware } from 'koa';
import type { WorkContext } from '../domain/model';
import { createProject, deleteProject, getProject, listProjects, updateProject } from '../domain/projects';
import { projectCursorOf } from './cursors';
import { presentProject, sendResource } from './present';
import { createProjectBody, idParams, patchProjectBody, projectListQuery, projectPageSchema, projectSchema, putProjectBody } from './schemas';

const tags = ['projects'];
const etag = 'The body, with an `ETag` (the version) to send back in `If-Match`';

export function projectRoutes(ctx: WorkContext, authenticate: Middleware): ApiRoutes {
  const routes = new ApiRoutes({ authenticate });

  routes.add(
    {
      method: 'get',
      path: '/api/v1/projects',
      summary: "Projects of the caller's organizations, newest first",
      tags,
      query: projectListQuery,
      responses: { 200: { description: 'A page of projects', schema: projectPageSchema }, 404: { description: '`organization` is not one of the caller’s' } },
    },
    async (http, { query }) => {
      const rows = await listProjects(ctx, currentUser(http), { organization: query.organization, after: query.cursor, limit: query.limit + 1 });
      http.body = toPage(http, rows, query.limit, projectCursorOf, presentProject);
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
    async (http, { body }) => {
      const user = currentUser(http);
      const response = await createProject(ctx, user, body, (write) =>
        idempotent(http, ctx.db, user.id, body, async (trx) => ({ status: 201, body: presentProject(await write(trx)) })),
      );
      http.status = response.status;
      http.body = response.body;
    },
  );

  routes.add(
    { method: 'get', path: '/api/v1/projects/:id', summary: 'One project', tags, params: idParams, responses: { 200: { description: etag, schema: projectSchema } } },
    async (http, { params }) => {
      const project = await getProject(ctx, currentUser(http), params.id);
      sendResource(http, project, presentProject(project));
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
      async (http, { params, body: changes }) => {
        const project = await updateProject(ctx, currentUser(http), params.id, changes, ifMatchOf(http));
        sendResource(http, project, presentProject(project));
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
    async (http, { params }) => {
      await deleteProject(ctx, currentUser(http), params.id, ifMatchOf(http));
      http.status = 204;
    },
  );

  return routes;
}
