// Response bodies and headers of the work resources (a task's body is the task itself, `version` included).
import { etagOf } from '@taskflow/shared';
import type { Context } from 'koa';
import type { Project } from '../domain/model';

export function presentProject(p: Project) {
  const { version: _version, ...body } = p;
  return body;
}

/** Sends a single resource with its ETag. */
export function sendResource(ctx: Context, resource: { version: number }, body: unknown, status = 200): void {
  ctx.status = status;
  ctx.set('ETag', etagOf(resource.version));
  ctx.body = body;
}
