// Response bodies and headers of the webhooks resources.
import { etagOf } from '@taskflow/shared';
import type { Context } from 'koa';
import type { Endpoint } from '../domain/model';

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
