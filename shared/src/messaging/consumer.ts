// Consumes one queue: the handler's effect and the message id (inbox) commit in one transaction,
// then the message is acked, so a redelivery changes nothing. Poison goes to the dead-letter queue.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Knex } from 'knex';
import type { Migration } from '../db';
import { envelopeSchema, type EventEnvelope, type EventType } from '../events';
import { type Logger, requestContext } from '../logging';
import type { Broker } from './broker';

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

export type EventHandler<T extends EventType = EventType> = (trx: Knex.Transaction, event: EventEnvelope<T>) => Promise<void>;

export type EventHandlers = { [T in EventType]?: EventHandler<T> };

export interface ConsumerOptions {
  broker: Broker;
  db: Knex;
  queue: string;
  handlers: EventHandlers;
  logger: Logger;
  prefetch?: number;
  /** Attempts before a failing message is dead-lettered. */
  maxAttempts?: number;
  retryDelayMs?: number;
}

const ATTEMPT_HEADER = 'x-taskflow-attempt';

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

export class EventConsumer {
  private channel: Channel | undefined;
  private stopping = false;
  private readonly inflight = new Set<Promise<void>>();
  processed = 0;

  constructor(private readonly options: ConsumerOptions) {}

  async start(): Promise<void> {
    await this.options.broker.onEveryConnect((model) => this.consume(model));
  }

  private async consume(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) => this.options.logger.warn({ err: err.message, queue: this.options.queue }, 'consumer channel error'));
    // Keep in-flight handlers below the database pool size, so handlers never wait out the pool timeout.
    await channel.prefetch(this.options.prefetch ?? 8);
    await channel.consume(this.options.queue, (msg) => {
      if (msg === null) {
        // The broker cancelled the consumer (queue deleted or node failover): consume again.
        this.options.logger.warn({ queue: this.options.queue }, 'consumer cancelled by the broker; resubscribing');
        if (!this.stopping) void this.consume(model).catch((err: Error) => this.options.logger.error({ err: err.message }, 'resubscribe failed'));
        return;
      }
      const work = this.handle(channel, msg).finally(() => this.inflight.delete(work));
      this.inflight.add(work);
    });
    this.channel = channel;
  }

  private async handle(channel: Channel, msg: ConsumeMessage): Promise<void> {
    const { logger, db, handlers } = this.options;
    let event: EventEnvelope;
    try {
      event = envelopeSchema.parse(JSON.parse(msg.content.toString('utf8'))) as EventEnvelope;
    } catch {
      logger.error({ message_id: msg.properties.messageId, queue: this.options.queue }, 'malformed message dead-lettered');
      settle(() => channel.nack(msg, false, false));
      return;
    }
    await requestContext.run({ requestId: event.request_id ?? event.id }, async () => {
      const handler = handlers[event.type] as EventHandler | undefined;
      try {
        await db.transaction(async (trx) => {
          const inserted = await trx(INBOX_TABLE).insert({ message_id: event.id, type: event.type }).onConflict('message_id').ignore().returning('message_id');
          if (inserted.length === 0 || !handler) return; // already applied, or not ours to handle
          await handler(trx, event);
        });
        this.processed += 1;
        settle(() => channel.ack(msg));
      } catch (err) {
        const attempt = Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 1);
        const max = this.options.maxAttempts ?? 5;
        const fields = { err: (err as Error).message, event_id: event.id, type: event.type, attempt };
        if (attempt >= max) {
          logger.error(fields, 'event handler failed; dead-lettered');
          settle(() => channel.nack(msg, false, false));
          return;
        }
        logger.warn(fields, 'event handler failed; retrying');
        await new Promise((r) => setTimeout(r, (this.options.retryDelayMs ?? 200) * attempt));
        // Republish with the attempt count, then ack the original: a crash in between redelivers, and the inbox dedups.
        settle(() => {
          channel.sendToQueue(this.options.queue, msg.content, { ...msg.properties, headers: { ...msg.properties.headers, [ATTEMPT_HEADER]: attempt + 1 } });
          channel.ack(msg);
        });
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inflight]);
    await this.channel?.close().catch(() => undefined);
  }
}
