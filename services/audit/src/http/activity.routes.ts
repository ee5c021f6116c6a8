// GET /api/v1/activity/: validate the filters, read the caller's entries, shape one page.
import {
  type AccessTokenVerifier,
  ApiRoutes,
  authenticate,
  currentUser,
  cursor,
  encodeCursor,
  idFilter,
  isoDateTime,
  pageQuery,
  pageSchema,
  sendJsonPage,
} from '@taskflow/shared';
import { z } from 'zod';
import { visibleTo } from '../domain/activity';
import { type AuditDeps, listActivityForUser, type ReadableActivity } from '../domain/list-activity';

const tags = ['activity'];

const timestamp = (description: string) =>
  isoDateTime({ offset: true, error: 'Enter an RFC 3339 timestamp, e.g. 2026-11-27T21:50:59Z.' })
    .transform((value) => new Date(value))
    .meta({ description });

/** The activity log resumes after the last entry's `[created_at, id]`. */
export const activityQuery = pageQuery(cursor(z.tuple([isoDateTime(), z.uuid()]))).extend({
  organization: idFilter('Only this organization (404 if the caller is not a member of it, or the id is malformed).').optional(),
  actor: idFilter('Only entries by this user.').optional(),
  verb: z.string().min(1).max(100).optional().meta({ description: 'Only this verb, e.g. `task.updated`.' }),
  target_type: z
    .string()
    .min(1)
    .max(50)
    .optional()
    .meta({ description: 'Only entries about this kind of thing: `organization`, `member`, `invite`, `project` or `task`.' }),
  target_id: idFilter('Only entries about this thing (with `target_type` or alone).').optional(),
  since: timestamp('Only entries at or after this time (RFC 3339).').optional(),
  until: timestamp('Only entries before this time (RFC 3339).').optional(),
});

export const activityEntrySchema = z.object({
  id: z.uuid().meta({ description: 'The id of the event this entry records.' }),
  organization: z.uuid(),
  actor: z.uuid().nullable().meta({ description: 'The user who did it; null for changes made by the system.' }),
  actor_email: z.string().nullable(),
  verb: z.string().meta({ description: 'Machine-readable, e.g. `task.updated`, `membership.role_changed`, `invite.sent`.' }),
  action: z.string().meta({
    description: "Human sentence, e.g. `Updated task 'Write spec'`. Invitee email addresses appear only for owners and admins.",
  }),
  target: z.object({ type: z.string(), id: z.uuid() }),
  changes: z
    .record(z.string(), z.tuple([z.unknown(), z.unknown()]))
    .meta({ description: 'Changed fields as `[old, new]`; empty when nothing but the action itself is recorded.' }),
  created_at: z.iso.datetime().meta({ description: 'When the change happened (RFC 3339 UTC with Z).' }),
  request_id: z.string().nullable().meta({ description: 'The X-Request-Id of the request that made the change.' }),
}).meta({ id: 'ActivityEntry' });

/** One entry for the OpenAPI document: Ada moved Grace's task to review. */
const activityEntryExample = {
  id: '0e8c7a52-3b1d-4f9e-a6c2-5d4b3a2f1e0d',
  organization: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  actor: '3f2b8c1e-6d4a-4b7e-9a1c-2e5f7d8b9c0a',
  actor_email: 'ada@example.com',
  verb: 'task.updated',
  action: "Updated task 'Write the API spec'",
  target: { type: 'task', id: 'c56a4180-65aa-42ec-a945-5fd21dec0538' },
  changes: { status: ['in_progress', 'review'] },
  created_at: '2026-03-05T08:27:33.415Z',
  request_id: 'b7f3c9e2-1a4d-4c8b-9e6f-2d5a7c1b3e9f',
} satisfies ActivityEntry;

export const activityPageSchema = pageSchema(activityEntrySchema).meta({
  id: 'ActivityPage',
  examples: [{ results: [activityEntryExample], next: `/api/v1/activity?limit=1&cursor=${encodeCursor([activityEntryExample.created_at, activityEntryExample.id])}` }],
});

export type ActivityEntry = z.output<typeof activityEntrySchema>;

/** An entry as `row.reader_role` may see it. */
export function presentActivity(row: ReadableActivity): ActivityEntry {
  const { action, changes } = visibleTo(row, row.reader_role);
  return {
    id: row.id,
    organization: row.organization_id,
    actor: row.actor_id,
    actor_email: row.actor_email,
    verb: row.verb,
    action,
    target: { type: row.target_type, id: row.target_id },
    changes,
    created_at: row.created_at.toISOString(),
    request_id: row.request_id,
  };
}

export function activityRoutes(deps: AuditDeps, verifier: Pick<AccessTokenVerifier, 'verify'>): ApiRoutes {
  const routes = new ApiRoutes({ authenticate: authenticate(verifier) });

  routes.add(
    {
      method: 'get',
      path: '/api/v1/activity',
      summary: "Activity of the caller's organizations, newest first",
      tags,
      query: activityQuery,
      responses: {
        200: { description: 'A page of entries, newest first (ties broken by id)', schema: activityPageSchema },
        404: { description: '`organization` is not an organization the caller belongs to' },
        503: {
          description: 'Memberships cannot be checked right now (with `Retry-After`)',
          problem: { code: 'service_unavailable', detail: 'Memberships cannot be checked right now; retry shortly.' },
        },
      },
    },
    async (ctx, { query }) => {
      const { limit, cursor, ...filters } = query;
      const page = await listActivityForUser(deps, currentUser(ctx).id, filters, cursor, limit);
      sendJsonPage(ctx, page, limit);
    },
  );

  return routes;
}
