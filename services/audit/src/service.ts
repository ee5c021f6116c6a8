// The audit service, composed: database + migrations -> broker -> consumer of every event (queue `audit`)
// -> notification mailer (shared mail outbox) -> membership replica -> feed tails (activity, notifications) + their LISTEN connection -> app -> listen. `close()` undoes it in reverse.
import {
  Broker,
  Closers,
  createDb,
  EventConsumer,
  type Logger,
  MAIL_OUTBOX_TABLE,
  Mailer,
  mailTransportFor,
  MembershipReplica,
  MessagingMetrics,
  NotificationListener,
  migrate,
  QUEUES,
  type RunningService,
  type StartOptions,
  verifierFor,
} from '@taskflow/shared';
import { buildApp } from './app';
import type { AuditConfig } from './config';
import { AUDIT_SCHEMA, migrations } from './db/migrations';
import { activityAfter, FEED_CHANNEL, type FeedActivity, lastActivitySeq } from './db/feed';
import { type FeedNotification, lastNotificationSeq, notificationsAfter } from './db/notifications';
import { activityKeysOf } from './domain/activity-stream';
import { FeedTail } from './domain/feed-tail';
import { StreamSlots } from './domain/stream-slots';
import { notificationKeysOf } from './domain/notification-stream';
import { auditHandlers } from './events/handlers';

export async function startAuditService(config: AuditConfig, logger: Logger, options: StartOptions = {}): Promise<RunningService> {
  const closers = new Closers();
  return closers.guard(async () => {
    const db = createDb({ url: config.DATABASE_URL, schema: AUDIT_SCHEMA, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS });
    closers.add(() => db.destroy());
    await migrate(db, AUDIT_SCHEMA, migrations);
    const broker = await Broker.connect(config.AMQP_URL, logger);
    closers.add(() => broker.close());
    const messagingMetrics = new MessagingMetrics();
    messagingMetrics.watchQueue(broker, QUEUES.audit.name);
    const consumer = new EventConsumer({ broker, db, queue: QUEUES.audit.name, handlers: auditHandlers, logger, retryDelayMs: options.retryDelayMs, metrics: messagingMetrics });
    await consumer.start();
    closers.add(() => consumer.stop());
    messagingMetrics.watchBacklog('taskflow_mail_outbox', 'Mail', db, MAIL_OUTBOX_TABLE, 'sent_at');
    const transport = mailTransportFor(config);
    const mailer = new Mailer({ db, databaseUrl: config.DATABASE_URL, schema: AUDIT_SCHEMA, transport, from: config.MAIL_FROM, logger, logBodies: config.NODE_ENV === 'development' });
    await mailer.start();
    closers.add(() => mailer.stop());
    const replica = new MembershipReplica({ db, tenancyUrl: config.TENANCY_URL, serviceToken: config.SERVICE_TOKEN });
    const activityTail = new FeedTail<FeedActivity>({
      name: 'activity',
      lastSeq: () => lastActivitySeq(db),
      readAfter: (seq, limit) => activityAfter(db, seq, limit),
      keysOf: activityKeysOf,
      logger,
    });
    await activityTail.start();
    closers.add(async () => activityTail.stop());
    const notificationTail = new FeedTail<FeedNotification>({
      name: 'notifications',
      lastSeq: () => lastNotificationSeq(db),
      readAfter: (seq, limit) => notificationsAfter(db, seq, limit),
      keysOf: notificationKeysOf,
      logger,
    });
    await notificationTail.start();
    closers.add(async () => notificationTail.stop());
    const tails = { activity: activityTail, notifications: notificationTail };
    // One LISTEN connection wakes the feed that grew (the payload names it), or both after a reconnect.
    const wake = (payload?: string) => {
      for (const [name, tail] of Object.entries(tails)) if (payload === undefined || payload === name) tail.wake();
    };
    const listener = new NotificationListener({ databaseUrl: config.DATABASE_URL, channel: FEED_CHANNEL, onNotify: wake, logger, worker: 'feed' });
    await listener.start();
    closers.add(() => listener.stop());
    const slots = new StreamSlots({ db, perUser: config.STREAMS_PER_USER, leaseMs: config.STREAM_LEASE_MS, logger });
    closers.add(() => slots.close());
    const streams = { heartbeatMs: config.STREAM_HEARTBEAT_MS, maxBufferedBytes: config.STREAM_BUFFER_BYTES };
    const app = buildApp({ logger, db, broker, replica, verifier: options.verifier ?? verifierFor(config), activityTail, notificationTail, streams, slots });
    app.metrics.include(messagingMetrics.registry);
    return closers.serve(app, options.port ?? config.PORT, config.HOST, options.closeGraceMs);
  });
}
