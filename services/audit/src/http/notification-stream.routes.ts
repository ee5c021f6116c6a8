// GET /api/v1/notifications/stream/: the caller's new notifications as Server-Sent Events (replay after Last-Event-ID, then live).
import { type AccessTokenVerifier, ApiRoutes, authenticate, currentUser } from '@taskflow/shared';
import { z } from 'zod';
import { type FeedNotification, type NotificationStreamDeps, openNotificationStream } from '../domain/notification-stream';
import { resumeFrom, runEventStream, type StreamRouteDeps, streamResponses } from './event-stream';
import { presentNotification } from './notifications.routes';

export const notificationStreamQuery = z.strictObject({
  after: z.uuid().optional().meta({ description: 'Replay every notification after this one first (like `Last-Event-ID`, which wins when both are sent).' }),
});

export function notificationStreamRoutes(deps: NotificationStreamDeps & StreamRouteDeps, verifier: Pick<AccessTokenVerifier, 'verify'>): ApiRoutes {
  const routes = new ApiRoutes({ authenticate: authenticate(verifier) });
  routes.add(
    {
      method: 'get',
      path: '/api/v1/notifications/stream',
      summary: "The caller's new notifications, live, as Server-Sent Events",
      tags: ['notifications'],
      query: notificationStreamQuery,
      responses: {
        200: {
          description:
            '`text/event-stream`: each notification as `id: <notification id>`, `event: <kind>`, `data: <notification JSON>`; a reconnect with `Last-Event-ID` replays what was missed first. Comment lines keep it open; it ends when the token expires.',
        },
        400: { description: "`Last-Event-ID` / `after` is not one of the caller's notifications" },
        ...streamResponses,
      },
    },
    async (ctx, { query }) => {
      const userId = currentUser(ctx).id;
      const after = resumeFrom(ctx, query.after);
      await runEventStream(
        ctx,
        deps,
        (row: FeedNotification) => ({ id: row.id, event: row.kind, data: presentNotification(row) }),
        (sink) => openNotificationStream(deps, userId, after, sink),
      );
    },
  );
  return routes;
}
