// The one LISTEN connection of an audit process: wakes the feeds on NOTIFY, reconnects when lost.
import type { Logger } from '@taskflow/shared';
import { Client } from 'pg';
import { FEED_CHANNEL, type FeedName } from './feed';

export interface FeedListenerOptions {
  databaseUrl: string;
  logger: Logger;
  /** Called with the feed that grew; and with every feed after a reconnect, since notifications may have been missed. */
  onWake(feed: FeedName): void;
  reconnectDelayMs?: number;
}

export class FeedListener {
  private client: Client | undefined;
  private stopped = false;

  constructor(private readonly options: FeedListenerOptions) {}

  /** Fails when the first connection cannot be made; later losses are retried in the background. */
  async start(): Promise<void> {
    await this.connect(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }

  private async connect(first = false): Promise<void> {
    const client = new Client({ connectionString: this.options.databaseUrl });
    client.on('error', (err) => {
      this.options.logger.warn({ err: err.message }, 'feed listener lost; reconnecting');
      this.retry(client);
    });
    client.on('notification', (message) => {
      if (message.payload === 'activity' || message.payload === 'notifications') this.options.onWake(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${FEED_CHANNEL}"`);
      this.client = client;
      // Anything committed while no connection listened is read now, from the table.
      this.options.onWake('activity');
      this.options.onWake('notifications');
    } catch (err) {
      if (first) {
        client.end().catch(() => undefined);
        throw err;
      }
      this.options.logger.warn({ err: (err as Error).message }, 'feed listener could not connect; retrying');
      this.retry(client);
    }
  }

  private retry(client: Client): void {
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    setTimeout(() => void this.connect(false).catch(() => undefined), this.options.reconnectDelayMs ?? 1000).unref();
  }
}
