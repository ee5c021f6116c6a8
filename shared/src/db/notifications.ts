// Wakes a background worker (outbox relay, mailer, audit's feeds) on PostgreSQL NOTIFY: LISTEN on a connection of its
// own; when that connection is lost the worker's polling covers until it is back.
import { Client } from 'pg';
import type { Logger } from '../logging';

export interface NotificationListenerOptions {
  databaseUrl: string;
  channel: string;
  /**
   * Called on every notification with its payload, and once (re)connected without one: what was
   * committed meanwhile (on any payload) is due now.
   */
  onNotify: (payload?: string) => void;
  logger: Logger;
  /** Names the worker in the log ("outbox relay", "mailer"). */
  worker: string;
  reconnectMs?: number;
}

export class NotificationListener {
  private client: Client | undefined;
  private stopped = false;

  constructor(private readonly options: NotificationListenerOptions) {}

  /** Resolves once listening, or once the first attempt failed (it keeps retrying in the background). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { databaseUrl, channel, onNotify, logger, worker } = this.options;
    const client = new Client({ connectionString: databaseUrl });
    let retried = false;
    const retry = (err: Error, what: string) => {
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (retried || this.stopped) return;
      retried = true;
      logger.warn({ err: err.message, channel }, `${worker} listener ${what}; polling until it is back`);
      setTimeout(() => void this.connect().catch(() => undefined), this.options.reconnectMs ?? 1000).unref();
    };
    client.on('error', (err) => retry(err, 'lost'));
    client.on('notification', (message) => onNotify(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch (err) {
      retry(err as Error, 'could not connect');
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    onNotify();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
