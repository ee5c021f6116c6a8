// GET /api/v1/activity/stream/: the change feed as Server-Sent Events (replay after Last-Event-ID, then live).
import { ApiRoutes, AppError, authenticate, type AccessTokenVerifier, currentUser, idFilter, type Logger, tokenExpiresAt } from '@taskflow/shared';
import type { Context } from 'koa';
import { z } from 'zod';
import { type ActivityStreamDeps, openActivityStream } from '../domain/activity-stream';
import type { StreamSlots } from '../domain/stream-slots';
import { presentActivity } from './activity.routes';
import { EventStream } from './event-stream';

export interface StreamSettings {
  heartbeatMs: number;
  maxBufferedBytes: number;
}

export interface StreamRouteDeps extends ActivityStreamDeps {
  slots: StreamSlots;
  settings: StreamSettings;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const activityStreamQuery = z.strictObject({
  organization: idFilter('Only this organization (404 if the caller is not a member of it); without it, all of the caller\'s organizations.').optional(),
  after: z.uuid().optional().meta({ description: 'Replay every visible entry after this one first (like `Last-Event-ID`, which wins when both are sent).' }),
});

const badPosition = () => new AppError(400, 'invalid_last_event_id', 'Last-Event-ID must be the id of an entry.', { after: ['Must be an entry id (UUID).'] });

/** The position a client resumes from: the Last-Event-ID header an EventSource sends on reconnect, else `?after=`. */
export function resumeFrom(ctx: Context, after: string | undefined): string | undefined {
  const header = ctx.get('last-event-id').trim();
  if (header === '') return after;
  if (!UUID.test(header)) throw badPosition();
  return header.toLowerCase();
}

/**
 * Runs one event stream for the caller: a slot under STREAMS_PER_USER, headers once `start` has checked
 * access, then until the client leaves, the token expires or `start`'s sink ends it.
 */
export async function runEventStream(
  ctx: Context,
  deps: Pick<StreamRouteDeps, 'slots' | 'settings' | 'logger'>,
  start: (stream: EventStream) => Promise<() => void>,
): Promise<void> {
  const release = deps.slots.take(currentUser(ctx).id);
  const stream = new EventStream(ctx, { ...deps.settings, endsAt: tokenExpiresAt(ctx) });
  let stop: (() => void) | undefined;
  try {
    try {
      stop = await start(stream);
    } catch (err) {
      // Before the first byte an error is an ordinary problem response; after it, the stream just ends.
      if (!stream.isOpen) throw err;
      deps.logger.warn({ err }, 'event stream failed');
      stream.end('failed');
    }
    stream.open(ctx);
    const reason = await stream.ended;
    deps.logger.debug({ reason }, 'event stream ended');
  } finally {
    stop?.();
    stream.end('server_closing');
    release();
  }
}

export function activityStreamRoutes(deps: StreamRouteDeps, verifier: Pick<AccessTokenVerifier, 'verify'>): ApiRoutes {
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
        429: { description: 'STREAMS_PER_USER streams are already open', problem: { code: 'too_many_streams', detail: 'At most 5 open streams per user; close one first.' } },
      },
    },
    async (ctx, { query }) => {
      const actor = currentUser(ctx);
      const after = resumeFrom(ctx, query.after);
      await runEventStream(ctx, deps, (stream) =>
        openActivityStream(deps, actor, { organization: query.organization, after }, {
          deliver: (entry) => {
            stream.open(ctx);
            stream.send(entry.id, entry.verb, presentActivity(entry));
          },
          end: (reason) => stream.end(reason),
          get closed() {
            return stream.closed;
          },
          get backlogged() {
            return stream.backlogged;
          },
          drained: () => stream.drained(),
        }),
      );
    },
  );
  return routes;
}
