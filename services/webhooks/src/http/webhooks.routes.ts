// /api/v1/webhooks: validate, call the use case, shape the answer.
import { ApiRoutes, currentUser, etagOf, idempotent, ifMatchOf, toPage } from '@taskflow/shared';
import type { Middleware } from 'koa';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  pingEndpoint,
  retryDelivery,
  rotateSecret,
  updateEndpoint,
} from '../domain/endpoints';
import type { WebhooksDeps } from '../domain/model';
import { cursorOf, presentEndpoint, sendEndpoint } from './present';
import {
  createdEndpointSchema,
  createEndpointBody,
  deliveryListQuery,
  deliveryPageSchema,
  deliveryParams,
  endpointListQuery,
  endpointPageSchema,
  endpointSchema,
  idParams,
  patchEndpointBody,
  secretSchema,
} from './schemas';

const tags = ['webhooks'];
const forbidden = { 403: { description: 'The caller is a member without the role (owners and admins manage webhooks)' } };

export function webhookRoutes(deps: WebhooksDeps, authenticate: Middleware): ApiRoutes {
  const routes = new ApiRoutes({ authenticate });

  routes.add(
    {
      method: 'get',
      path: '/api/v1/webhooks',
      summary: "An organization's webhook endpoints, newest first (owner, admin)",
      tags,
      query: endpointListQuery,
      responses: { 200: { description: 'A page of endpoints', schema: endpointPageSchema }, ...forbidden, 404: { description: '`organization` is not one of the caller’s' } },
    },
    async (ctx, { query }) => {
      const rows = await listEndpoints(deps, currentUser(ctx), { organization: query.organization, after: query.cursor, limit: query.limit + 1 });
      ctx.body = toPage(ctx, rows, query.limit, cursorOf, presentEndpoint);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/webhooks',
      summary: 'Create an endpoint (owner, admin); the signing secret is shown only in this answer; honours Idempotency-Key',
      tags,
      body: createEndpointBody,
      responses: {
        201: { description: 'The new endpoint with its `secret`', schema: createdEndpointSchema },
        ...forbidden,
        422: { description: 'The Idempotency-Key was used with a different request' },
      },
    },
    async (ctx, { body }) => {
      const actor = currentUser(ctx);
      // The stored (replayable) response never holds the secret: it exists in clear only in this answer.
      let secret: string | undefined;
      const response = await idempotent(ctx, deps.db, actor.id, body, async () => {
        const created = await createEndpoint(deps, actor, body);
        secret = created.secret;
        ctx.set('ETag', etagOf(created.endpoint.version));
        return { status: 201, body: presentEndpoint(created.endpoint) };
      });
      ctx.status = response.status;
      ctx.body = secret === undefined ? response.body : { ...(response.body as object), secret };
    },
  );

  routes.add(
    { method: 'get', path: '/api/v1/webhooks/:id', summary: 'One endpoint (owner, admin)', tags, params: idParams, responses: { 200: { description: 'The endpoint, with its `ETag`', schema: endpointSchema }, ...forbidden } },
    async (ctx, { params }) => sendEndpoint(ctx, await getEndpoint(deps, currentUser(ctx), { id: params.id })),
  );

  routes.add(
    {
      method: 'patch',
      path: '/api/v1/webhooks/:id',
      summary: 'Change an endpoint’s URL, events, description or `enabled` (owner, admin); enabling clears `disabled_reason`',
      tags,
      params: idParams,
      body: patchEndpointBody,
      responses: { 200: { description: 'The endpoint, with its `ETag`', schema: endpointSchema }, ...forbidden, 412: { description: '`If-Match` no longer matches; nothing changed' } },
    },
    async (ctx, { params, body }) => sendEndpoint(ctx, await updateEndpoint(deps, currentUser(ctx), { id: params.id, changes: body, ifMatch: ifMatchOf(ctx) })),
  );

  routes.add(
    {
      method: 'delete',
      path: '/api/v1/webhooks/:id',
      summary: 'Delete an endpoint and its deliveries (owner, admin)',
      tags,
      params: idParams,
      responses: { 204: { description: 'Deleted' }, ...forbidden, 412: { description: '`If-Match` no longer matches; nothing changed' } },
    },
    async (ctx, { params }) => {
      await deleteEndpoint(deps, currentUser(ctx), { id: params.id, ifMatch: ifMatchOf(ctx) });
      ctx.status = 204;
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/webhooks/:id/rotate-secret',
      summary: 'A new signing secret (owner, admin); the old one keeps signing alongside for 24 h',
      tags,
      params: idParams,
      responses: { 200: { description: 'The new secret, shown only here', schema: secretSchema }, ...forbidden },
    },
    async (ctx, { params }) => {
      ctx.body = await rotateSecret(deps, currentUser(ctx), { id: params.id });
    },
  );

  routes.add(
    { method: 'post', path: '/api/v1/webhooks/:id/ping', summary: 'Queue a `webhook.ping` delivery (owner, admin)', tags, params: idParams, responses: { 202: { description: 'Queued' }, ...forbidden } },
    async (ctx, { params }) => {
      await pingEndpoint(deps, currentUser(ctx), { id: params.id });
      ctx.status = 202;
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/v1/webhooks/:id/deliveries',
      summary: 'An endpoint’s deliveries with their attempts, newest first (owner, admin)',
      tags,
      params: idParams,
      query: deliveryListQuery,
      responses: { 200: { description: 'A page of deliveries', schema: deliveryPageSchema }, ...forbidden },
    },
    async (ctx, { params, query }) => {
      const rows = await listDeliveries(deps, currentUser(ctx), { id: params.id, status: query.status, after: query.cursor, limit: query.limit + 1 });
      ctx.body = toPage(ctx, rows, query.limit, cursorOf, (d) => d);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/v1/webhooks/:id/deliveries/:delivery_id/retry',
      summary: 'Deliver again now, whatever the delivery’s state (owner, admin)',
      tags,
      params: deliveryParams,
      responses: { 202: { description: 'Queued' }, ...forbidden },
    },
    async (ctx, { params }) => {
      await retryDelivery(deps, currentUser(ctx), { id: params.id, deliveryId: params.delivery_id });
      ctx.status = 202;
    },
  );

  return routes;
}
