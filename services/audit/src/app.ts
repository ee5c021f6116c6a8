// The audit Koa app (no listen): the shared base plus the activity list, the change feed, notifications and their stream.
import { type AccessTokenVerifier, type Broker, createApp, type Knex, type Logger, type MembershipReplica, pingDb, type ServiceApp } from '@taskflow/shared';
import { Gauge } from 'prom-client';
import type { FeedActivity } from './db/feed';
import type { FeedNotification } from './db/notifications';
import type { FeedTail } from './domain/feed-tail';
import type { StreamSlots } from './domain/stream-slots';
import { activityStreamRoutes } from './http/activity-stream.routes';
import type { StreamSettings } from './http/event-stream';
import { activityRoutes } from './http/activity.routes';
import { notificationStreamRoutes } from './http/notification-stream.routes';
import { notificationRoutes } from './http/notifications.routes';

/** What the composition root hands the app. */
export interface AuditAppOptions {
  logger: Logger;
  db: Knex;
  broker: Pick<Broker, 'ping'>;
  replica: MembershipReplica;
  /** Checks access tokens (identity's JWKS in production, `createTestTokens().verifier` in tests). */
  verifier: Pick<AccessTokenVerifier, 'verify'>;
  activityTail: FeedTail<FeedActivity>;
  notificationTail: FeedTail<FeedNotification>;
  streams: StreamSettings;
  /** Open streams per user, counted across replicas. */
  slots: StreamSlots;
}

export function buildApp(deps: AuditAppOptions): ServiceApp {
  const { logger, db, broker, replica, verifier, activityTail, notificationTail, slots } = deps;
  const settings = { heartbeatMs: deps.streams.heartbeatMs, maxBufferedBytes: deps.streams.maxBufferedBytes };
  const app = createApp({
    service: 'audit',
    logger,
    readiness: { database: () => pingDb(db), broker: () => broker.ping() },
    routes: [
      activityStreamRoutes({ db, replica, activityTail, slots, settings, logger }, verifier),
      activityRoutes({ db, replica }, verifier),
      notificationStreamRoutes({ db, notificationTail, slots, settings, logger }, verifier),
      notificationRoutes({ db }, verifier),
    ],
  });
  new Gauge({
    name: 'audit_open_streams',
    help: 'Event streams open in this process',
    registers: [app.metrics.registry],
    collect() {
      this.set(slots.size);
    },
  });
  return app;
}
