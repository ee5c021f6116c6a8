// ETag / If-Match for optimistic concurrency, from a resource's integer version.
import type { Context } from 'koa';
import { AppError } from './errors';

export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The version an `If-Match` header demands, or undefined when there is none (or it is `*`).
 * Any value that names no version of ours can never match: 412.
 */
export function expectedVersion(ctx: Context): number | undefined {
  const header = ctx.get('if-match').trim();
  if (header === '' || header === '*') return undefined;
  const versions = header.split(',').map((v) => /^(?:W\/)?"(\d{1,15})"$/.exec(v.trim())?.[1]);
  const found = versions.find((v) => v !== undefined);
  if (found === undefined) throw preconditionFailed();
  return Number(found);
}

export const preconditionFailed = () =>
  new AppError(412, 'precondition_failed', 'The resource has changed since it was read (If-Match does not match); fetch it again.');
