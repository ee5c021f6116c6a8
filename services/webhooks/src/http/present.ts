// Response bodies and headers of the webhooks resources.
import { etagOf } from '@taskflow/shared';
import type { Context } from 'koa';
import type { Delivery, Endpoint } from '../domain/model';

export function presentEndpoint(e: Endpoint) {
  const { version: _version, ...body } = e;
  return body;
}

/** Sends an endpoint with its ETag. */
export function sendEndpoint(ctx: Context, endpoint: Endpoint, status = 200): void {
  ctx.status = status;
  ctx.set('ETag', etagOf(endpoint.version));
  ctx.body = presentEndpoint(endpoint);
}

/** What a page's last row resumes from (the list queries in schemas.ts check it): `[created_at, id]`. */
export const cursorOf = (row: Endpoint | Delivery): [string, string] => [row.created_at, row.id];
