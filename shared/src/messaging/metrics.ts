// Metrics of the messaging mechanisms, read at scrape time where they are state (backlogs, queue
// depths) and observed as they happen where they are work (consumer processing time).
import type { Knex } from 'knex';
import client from 'prom-client';
import type { Broker } from './broker';
import { deadLetterQueue } from './topology';

export type ConsumerOutcome = 'applied' | 'retried' | 'dead_lettered';

export class MessagingMetrics {
  readonly registry = new client.Registry();
  readonly consumerProcessing: client.Histogram<'queue' | 'outcome'>;

  constructor() {
    this.consumerProcessing = new client.Histogram({
      name: 'taskflow_consumer_processing_seconds',
      help: 'Time to apply consumed messages (one observation per message, the batch time shared among its messages), by queue and outcome',
      labelNames: ['queue', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  /**
   * `<prefix>_backlog` (rows not yet done) and `<prefix>_oldest_age_seconds` (age of the oldest of
   * them, 0 when none), queried from `table` at scrape time.
   */
  watchBacklog(prefix: string, what: string, db: Knex, table: string, doneColumn: string): void {
    let pending: Promise<{ count: number; age: number }> | undefined;
    // Both gauges are read in one scrape: one query serves them.
    const read = () => {
      pending ??= db(table)
        .whereNull(doneColumn)
        .select(db.raw('count(*)::int AS count'), db.raw('coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age'))
        .first()
        .then((row: { count: number; age: number } | undefined) => ({ count: Number(row?.count ?? 0), age: Number(row?.age ?? 0) }))
        .finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    new client.Gauge({
      name: `${prefix}_backlog`,
      help: `${what} not yet done`,
      registers: [this.registry],
      async collect() {
        this.set((await read().catch(() => ({ count: Number.NaN }))).count);
      },
    });
    new client.Gauge({
      name: `${prefix}_oldest_age_seconds`,
      help: `Age of the oldest ${what.toLowerCase()} not yet done (0 when there is none)`,
      registers: [this.registry],
      async collect() {
        this.set((await read().catch(() => ({ age: Number.NaN }))).age);
      },
    });
  }

  /** The transactional outbox: events committed but not yet published. */
  watchOutbox(db: Knex): void {
    this.watchBacklog('taskflow_outbox', 'Outbox events', db, 'outbox', 'published_at');
  }

  /** Messages waiting in a consumer's queue (its lag) and in its dead-letter queue, asked of the broker at scrape time. */
  watchQueue(broker: Broker, queue: string): void {
    const depth = (name: string) => broker.queueDepth(name).catch(() => Number.NaN);
    new client.Gauge({
      name: 'taskflow_queue_ready_messages',
      help: 'Messages waiting in the queue for a consumer (consumer lag)',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        this.set({ queue }, await depth(queue));
      },
    });
    new client.Gauge({
      name: 'taskflow_dead_letter_messages',
      help: 'Messages in the queue\'s dead-letter queue (malformed, or failed every attempt)',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        this.set({ queue }, await depth(deadLetterQueue(queue)));
      },
    });
  }
}
