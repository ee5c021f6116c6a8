// /api/v1/tasks: validate, call the use case, shape the answer.
import { ApiRoutes, currentUser, type RoutesOptions, ifMatchOf, idempotent, sendJsonPage } from '@taskflow/shared';
import type { WorkDeps } from '../domain/model';
import { createTask, deleteTask, getTask, listTasks, updateTask } from '../domain/tasks';
import { presentTask, sendResource } from './present';
import { createTaskBody, idParams, patchTaskBody, putTaskBody, taskListQuery, taskPageSchema, taskSchema } from './schemas';

const tags = ['tasks'];
const etag = 'The task, with an `ETag` (its `version`) to send back in `If-Match`';

export function taskRoutes(deps: WorkDeps, options: RoutesOptions): ApiRoutes {
  const routes = new ApiRoutes(options);

  routes.add(
    {
      method: 'get',
      path: '/api/v1/tasks',
      summary: "Tasks of the caller's organizations, filtered and ordered",
      tags,
      query: taskListQuery,
      responses: { 200: { description: 'A page of tasks', schema: taskPageSchema }, 404: { description: '`organization` is not one of the caller’s' } },
    },
    async (ctx, { query }) => {
      const { limit, cursor, ordering, status, due_before, due_after, ...filters } = query;
      const page = await listTasks(deps, currentUser(ctx), {
        ...filters,
        statuses: status,
        dueBefore: due_before,
        dueAfter: due_after,
        sort: { ordering, after: cursor && [cursor[1], cursor[2]] },
        limit,
      });
      sendJsonPage(ctx, page, limit, (last) => [ordering, ...last]);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/tasks',
      summary: 'Create a task (owner, admin); honours Idempotency-Key',
      tags,
      body: createTaskBody,
      responses: {
        201: { description: 'The new task', schema: taskSchema },
        403: { description: 'The caller is a member without the role' },
        422: { description: 'The Idempotency-Key was used with a different request' },
      },
    },
    async (ctx, { body }) => {
      const user = currentUser(ctx);
      const response = await idempotent(ctx, deps.db, user.id, body, async () => ({ status: 201, body: presentTask(await createTask(deps, user, body)) }));
      ctx.status = response.status;
      ctx.body = response.body;
    },
  );

  routes.add(
    { method: 'get', path: '/api/v1/tasks/:id', summary: 'One task', tags, params: idParams, responses: { 200: { description: etag, schema: taskSchema } } },
    async (ctx, { params }) => {
      const task = await getTask(deps, currentUser(ctx), params.id);
      sendResource(ctx, task, presentTask(task));
    },
  );

  for (const [method, body] of [
    ['patch', patchTaskBody],
    ['put', putTaskBody],
  ] as const) {
    routes.add(
      {
        method,
        path: '/api/v1/tasks/:id',
        summary:
          method === 'put'
            ? 'Replace every writable field of a task (owner, admin)'
            : 'Change some fields of a task (owner, admin: any; the assigned member: title, description, status, priority, due_date)',
        tags,
        params: idParams,
        body,
        responses: {
          200: { description: etag, schema: taskSchema },
          403: { description: 'Not allowed for the caller’s role, or a member sent a field they may not change' },
          412: { description: '`If-Match` no longer matches; nothing changed' },
        },
      },
      async (ctx, { params, body: input }) => {
        const task = await updateTask(deps, currentUser(ctx), { id: params.id, changes: input, ifMatch: ifMatchOf(ctx) });
        sendResource(ctx, task, presentTask(task));
      },
    );
  }

  routes.add(
    {
      method: 'delete',
      path: '/api/v1/tasks/:id',
      summary: 'Delete a task (owner, admin)',
      tags,
      params: idParams,
      responses: {
        204: { description: 'Deleted' },
        403: { description: 'The caller is a member without the role' },
        412: { description: '`If-Match` no longer matches; nothing changed' },
      },
    },
    async (ctx, { params }) => {
      await deleteTask(deps, currentUser(ctx), { id: params.id, ifMatch: ifMatchOf(ctx) });
      ctx.status = 204;
    },
  );

  return routes;
}
