// Publishes committed outbox rows: claim a batch (FOR UPDATE SKIP LOCKED, so replicas share the work),
// publish on a confirm channel, wait for the confirms, mark the rows published, commit.
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import type { Knex } from 'knex';
import { NotificationListener } from '../db/notifications';
import type { Logger } from '../logging';
import { startPublishSpans } from '../tracing/spans';
import { type Backoff, backoffDelay } from './backoff';
import type { Broker } from './broker';
import { DrainLoop, runPeriodically } from './drain-loop';
import { OUTBOX_TABLE, type Outbox } from './outbox';
import { EVENTS_EXCHANGE } from './topology';

export interface RelayOptions {
  db: Knex;
  databaseUrl: string;
  outbox: Outbox;
  broker: Broker;
  logger: Logger;
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives. */
  pollIntervalMs?: number;
  /** Published rows older than this are deleted. */
  retainPublishedMs?: number;
}

/** After a failed round (broker or database down): 200 ms, doubling, at most 5 s. */
const RELAY_BACKOFF: Backoff = { baseMs: 200, maxMs: 5000 };

interface OutboxRow {
  id: string;
  type: string;
  envelope: unknown;
}

export class OutboxRelay {
  private channel: ConfirmChannel | undefined;
  private readonly listener: NotificationListener;
  private readonly loop: DrainLoop;
  private purge: DrainLoop | undefined;
  private readonly returned = new Set<string>();
  published = 0;

  constructor(private readonly options: RelayOptions) {
    this.loop = new DrainLoop({
      round: () => this.drain(),
      retryAfter: (err, failures) => {
        const backoff = backoffDelay(failures, RELAY_BACKOFF);
        if (failures === 1 || failures % 20 === 0) {
          this.options.logger.warn({ err: (err as Error).message, retry_in_ms: backoff }, 'outbox relay failed; retrying');
        }
        return backoff;
      },
    });
    this.listener = new NotificationListener({
      databaseUrl: options.databaseUrl,
      channel: options.outbox.notifyChannel,
      onNotify: () => this.wake(),
      logger: options.logger,
      worker: 'outbox relay',
    });
  }

  async start(): Promise<void> {
    await this.options.broker.onEveryConnect((model) => this.openChannel(model));
    this.loop.start();
    this.purge = runPeriodically(60_000, () => this.deletePublished());
    await this.listener.start();
  }

  /** Drains the outbox now (or right after the drain in progress). */
  wake(): void {
    this.loop.wake();
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) => this.options.logger.warn({ err: err.message }, 'relay channel error'));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    // A mandatory message that no queue takes comes back here: it is not published.
    channel.on('return', (msg: Message) => {
      if (msg.properties.messageId) this.returned.add(String(msg.properties.messageId));
    });
    this.channel = channel;
    this.wake();
  }

  /** Publishes every committed row (batch after batch); the next round at the latest after the poll interval. */
  private async drain(): Promise<number> {
    while (this.loop.running && (await this.publishBatch()) === (this.options.batchSize ?? 200));
    return this.options.pollIntervalMs ?? 1000;
  }

  /** Publishes one batch in one transaction; returns how many rows it claimed. */
  private async publishBatch(): Promise<number> {
    const limit = this.options.batchSize ?? 200;
    return this.options.db.transaction(async (trx) => {
      const rows: OutboxRow[] = await trx(OUTBOX_TABLE)
        .select('id', 'type', 'envelope')
        .whereNull('published_at')
        .orderBy('seq')
        .limit(limit)
        .forUpdate()
        .skipLocked();
      if (rows.length === 0) return 0;
      const channel = this.channel;
      if (!channel) throw new Error('no broker channel');
      // PRODUCER spans (when tracing): each message names its publish span as the consumer's parent.
      const spans = startPublishSpans(EVENTS_EXCHANGE);
      for (const row of rows) {
        this.returned.delete(row.id);
        channel.publish(EVENTS_EXCHANGE, row.type, Buffer.from(JSON.stringify(spans.envelopeFor(row))), {
          persistent: true,
          mandatory: true,
          messageId: row.id,
          type: row.type,
          contentType: 'application/json',
        });
      }
      try {
        await channel.waitForConfirms();
      } catch (err) {
        spans.end(undefined, err);
        throw err;
      }
      spans.end((id) => this.returned.has(id));
      const published = rows.map((r) => r.id).filter((id) => !this.returned.has(id));
      if (published.length < rows.length) {
        this.options.logger.error({ unroutable: rows.length - published.length }, 'events came back unroutable; will retry');
      }
      await trx(OUTBOX_TABLE).whereIn('id', published).update({ published_at: trx.fn.now() });
      this.published += published.length;
      if (published.length < rows.length) throw new Error('unroutable events');
      return rows.length;
    });
  }

  private async deletePublished(): Promise<void> {
    const retain = this.options.retainPublishedMs ?? 7 * 24 * 3600 * 1000;
    await this.options.db(OUTBOX_TABLE)
      .whereNotNull('published_at')
      .where('published_at', '<', new Date(Date.now() - retain))
      .delete();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.purge?.stop();
    await this.listener.stop();
    await this.channel?.close().catch(() => undefined);
  }
}
