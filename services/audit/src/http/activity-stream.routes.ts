// GET /api/v1/activity/stream/: the change feed as Server-Sent Events (replay after Last-Event-ID, then live).
import { type AccessTokenVerifier, ApiRoutes, authenticate, currentUser, idFilter } from '@taskflow/shared';
import { z } from 'zod';
import { type ActivityStreamDeps, openActivityStream } from '../domain/activity-stream';
import type { ReadableActivity } from '../domain/list-activity';
import { presentActivity } from './activity.routes';
import { resumeFrom, runEventStream, type StreamRouteDeps, streamResponses } from './event-stream';

export const activityStreamQuery = z.strictObject({
  organization: idFilter('Only this organization (404 if the caller is not a member of it); without it, all of the caller\'s organizations.').optional(),
  after: z.uuid().optional().meta({ description: 'Replay every visible entry after this one first (like `Last-Event-ID`, which wins when both are sent).' }),
});

export function activityStreamRoutes(deps: ActivityStreamDeps & StreamRouteDeps, verifier: Pick<AccessTokenVerifier, 'verify'>): ApiRoutes {
  const routes = new ApiRoutes({ authenticate: authenticate(verifier) });
  routes.add(
    {
      method: 'get',
      path: '/api/v1/activity/stream',
      summary: 'Change feed: the activity the caller may see, live, as Server-Sent Events',
      tags: ['activity'],
      query: activityStreamQuery,
      responses: {
        200: {
          description:
            '`text/event-stream`: each entry as `id: <entry id>`, `event: <verb>`, `data: <entry JSON>`; a reconnect with `Last-Event-ID` replays what was missed first. Comment lines keep it open; it ends when the caller loses access or the token expires.',
        },
        400: { description: '`Last-Event-ID` / `after` is not an entry of the caller\'s organizations' },
        404: { description: '`organization` is not an organization the caller belongs to' },
        ...streamResponses,
      },
    },
    async (ctx, { query }) => {
      const actor = currentUser(ctx);
      const after = resumeFrom(ctx, query.after);
      await runEventStream(
        ctx,
        deps,
        (entry: ReadableActivity) => ({ id: entry.id, event: entry.verb, data: presentActivity(entry) }),
        (sink) => openActivityStream(deps, actor, { organization: query.organization, after }, sink),
      );
    },
  );
  return routes;
}
