// Consumes one queue: the handler's effect and the message id (inbox) commit in one transaction,
// then the message is acked, so a redelivery changes nothing. Poison goes to the dead-letter queue.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Knex } from 'knex';
import type { Migration } from '../db';
import { inTransaction } from '../db/transaction';
import { envelopeSchema, type EventEnvelope, type EventType } from '../events';
import { type Logger, requestContext } from '../logging';
import { inConsumeSpan } from '../tracing/spans';
import { backoffDelay } from './backoff';
import type { Broker } from './broker';
import { ATTEMPT_HEADER, LAST_ERROR_HEADER } from './dead-letters';
import { type DrainLoop, runPeriodically } from './drain-loop';
import type { QueueEvents, QueueName } from './topology';
import type { ConsumerOutcome, MessagingMetrics } from './metrics';

export const INBOX_TABLE = 'processed_messages';

export const inboxMigration: Migration = {
  name: '000_inbox',
  async up(db) {
    await db.schema.createTable(INBOX_TABLE, (t) => {
      t.uuid('message_id').primary();
      t.text('type').notNullable();
      t.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
  },
};

/** For the periodic purge: rows by age. A later migration than `inboxMigration`, so existing inboxes get it too. */
export const inboxRetentionMigration: Migration = {
  name: '000_inbox_processed_at',
  async up(db) {
    await db.raw(`CREATE INDEX IF NOT EXISTS processed_messages_processed_at ON ${INBOX_TABLE} (processed_at)`);
  },
};

/**
 * How long the inbox remembers a message: far longer than any redelivery (a broker redelivers an unacked
 * message at once, a retry comes back within seconds, the relay republishes an unconfirmed row within
 * minutes of its process coming back, and published outbox rows are kept 7 days).
 */
export const INBOX_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** Rows deleted per statement, so a purge never runs into the statement timeout however much is due. */
const PURGE_BATCH = 5000;

/** Deletes inbox rows older than `retainMs`, batch by batch; returns how many. */
export async function purgeProcessedMessages(db: Knex, retainMs = INBOX_RETENTION_MS): Promise<number> {
  const before = new Date(Date.now() - retainMs);
  let purged = 0;
  for (;;) {
    const deleted = await db(INBOX_TABLE)
      .whereIn('message_id', db(INBOX_TABLE).select('message_id').where('processed_at', '<', before).limit(PURGE_BATCH))
      .delete();
    purged += deleted;
    if (deleted < PURGE_BATCH) return purged;
  }
}

export type EventHandler<T extends EventType = EventType> = (trx: Knex.Transaction, event: EventEnvelope<T>) => Promise<void>;

export type EventHandlers = { [T in EventType]?: EventHandler<T> };

/**
 * A consuming service's handler map: one handler for exactly each event type its queue is bound to
 * (`QUEUES` in topology.ts), so a handler whose events would never arrive, or a binding nobody handles,
 * does not compile.
 */
export type QueueHandlers<Q extends QueueName> = { [T in QueueEvents<Q>]: EventHandler<T> };

export interface ConsumerOptions {
  broker: Broker;
  db: Knex;
  queue: string;
  handlers: EventHandlers;
  logger: Logger;
  /** Messages applied in one transaction at most (one commit, one fsync, for the whole batch). */
  batchSize?: number;
  /** Attempts before a failing message is dead-lettered. */
  maxAttempts?: number;
  /** The wait before the first retry (default 200 ms), doubling with each attempt. */
  retryDelayMs?: number;
  /** Records processing time per message. */
  metrics?: MessagingMetrics;
  /** Inbox rows older than this are purged (hourly, and at start). */
  retainProcessedMs?: number;
}

/**
 * Acks, nacks or republishes unless the channel died meanwhile (broker restart): then the broker
 * redelivers the unacked message on the next connection, and the inbox makes that harmless.
 */
function settle(action: () => void): void {
  try {
    action();
  } catch {
    /* channel closed: redelivered later */
  }
}

interface Delivery {
  channel: Channel;
  msg: ConsumeMessage;
  event: EventEnvelope;
}

/**
 * Deliveries that arrive together are applied together: one transaction inserts their ids into the
 * inbox and runs the handlers of the new ones, then they are acked. If that transaction fails, each
 * message is retried alone, so one poison message cannot hold back the others.
 */
export class EventConsumer {
  private channel: Channel | undefined;
  private stopping = false;
  private readonly pending: Delivery[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private purge: DrainLoop | undefined;
  processed = 0;

  constructor(private readonly options: ConsumerOptions) {}

  private get batchSize(): number {
    return this.options.batchSize ?? 100;
  }

  async start(): Promise<void> {
    this.purge = runPeriodically(3600_000, () => purgeProcessedMessages(this.options.db, this.options.retainProcessedMs));
    await this.options.broker.onEveryConnect((model) => this.consume(model));
  }

  private async consume(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.options.logger.warn({ err: err.message, queue: this.options.queue }, 'consumer channel error'));
    // Two batches' worth: one being applied while the next arrives.
    await channel.prefetch(this.batchSize * 2);
    await channel.consume(this.options.queue, (msg) => {
      if (msg === null) {
        // The broker cancelled the consumer (queue deleted or node failover): consume again.
        this.options.logger.warn({ queue: this.options.queue }, 'consumer cancelled by the broker; resubscribing');
        if (!this.stopping) void this.consume(model).catch((err: Error) => this.options.logger.error({ err: err.message }, 'resubscribe failed'));
        return;
      }
      this.receive(channel, msg);
    });
    this.channel = channel;
  }

  private receive(channel: Channel, msg: ConsumeMessage): void {
    if (this.stopping) return; // left unacked: the broker requeues it when the channel closes
    let event: EventEnvelope;
    try {
      event = envelopeSchema.parse(JSON.parse(msg.content.toString('utf8'))) as EventEnvelope;
    } catch {
      this.options.logger.error({ message_id: msg.properties.messageId, queue: this.options.queue }, 'malformed message dead-lettered');
      settle(() => channel.nack(msg, false, false));
      return;
    }
    this.pending.push({ channel, msg, event });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.scheduleFlush();
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.batchSize);
      const started = process.hrtime.bigint();
      try {
        await this.apply(batch);
        for (const d of batch) settle(() => d.channel.ack(d.msg));
        this.processed += batch.length;
        this.observe(started, 'applied', batch.length);
      } catch {
        for (const d of batch) await this.applyAlone(d);
      }
    }
  }

  /** Applies `batch` in one transaction; handlers run only for ids the inbox has not seen. */
  private async apply(batch: Delivery[]): Promise<void> {
    await inTransaction(this.options.db, async (trx) => {
      const inserted: Array<{ message_id: string }> = await trx(INBOX_TABLE)
        .insert(batch.map((d) => ({ message_id: d.event.id, type: d.event.type })))
        .onConflict('message_id')
        .ignore()
        .returning('message_id');
      const fresh = new Set(inserted.map((r) => r.message_id));
      for (const { event } of batch) {
        // delete: the same id twice in one batch (a redelivery) is applied once.
        if (!fresh.delete(event.id)) continue;
        const handler = this.options.handlers[event.type] as EventHandler | undefined;
        if (!handler) continue;
        // A CONSUMER span continuing the publisher's trace (when tracing): its ids and context in the request context.
        await inConsumeSpan(event, this.options.queue, (trace) => requestContext.run({ requestId: event.request_id ?? event.id, ...trace }, () => handler(trx, event)));
      }
    });
  }

  /** One message in its own transaction; on failure retried a bounded number of times, then dead-lettered. */
  private async applyAlone(delivery: Delivery): Promise<void> {
    const { channel, msg, event } = delivery;
    const started = process.hrtime.bigint();
    try {
      await this.apply([delivery]);
      this.processed += 1;
      settle(() => channel.ack(msg));
      this.observe(started, 'applied');
    } catch (err) {
      const attempt = Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 1);
      const fields = { err: (err as Error).message, event_id: event.id, request_id: event.request_id, type: event.type, attempt };
      if (attempt >= (this.options.maxAttempts ?? 5)) {
        this.options.logger.error(fields, 'event handler failed; dead-lettered');
        settle(() => channel.nack(msg, false, false));
        this.observe(started, 'dead_lettered');
        return;
      }
      this.options.logger.warn(fields, 'event handler failed; retrying');
      this.observe(started, 'retried');
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, { baseMs: this.options.retryDelayMs ?? 200, maxMs: 10_000 })));
      // Republish with the attempt count and the error (what `npm run dlq` shows if it ends dead-lettered),
      // then ack the original: a crash in between redelivers, and the inbox dedups.
      const headers = { ...msg.properties.headers, [ATTEMPT_HEADER]: attempt + 1, [LAST_ERROR_HEADER]: String((err as Error).message).slice(0, 500) };
      settle(() => {
        channel.sendToQueue(this.options.queue, msg.content, { ...msg.properties, headers });
        channel.ack(msg);
      });
    }
  }

  /** One observation per message; a batch's time is shared among its messages. */
  private observe(started: bigint, outcome: ConsumerOutcome, messages = 1): void {
    const histogram = this.options.metrics?.consumerProcessing;
    if (!histogram) return;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9 / messages;
    for (let i = 0; i < messages; i += 1) histogram.observe({ queue: this.options.queue, outcome }, seconds);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.purge?.stop();
    // Whatever was not applied stays unacked and comes back on the next start.
    this.pending.length = 0;
    await this.flushing;
    await this.channel?.close().catch(() => undefined);
  }
}
