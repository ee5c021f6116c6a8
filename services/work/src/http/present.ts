// Response bodies and headers of the work resources.
import { etagOf } from '@taskflow/shared';
import type { Context } from 'koa';
import type { Project, Task } from '../domain/model';

export function presentProject(p: Project) {
  const { version: _version, ...body } = p;
  return body;
}

/** Sends a single resource with its ETag. */
export function sendResource(http: Context, resource: { version: number }, body: unknown, status = 200): void {
  http.status = status;
  http.set('ETag', etagOf(resource.version));
  http.body = body;
}

export const presentTask = (t: Task): Task => t;
