// A LISTEN on a connection of its own that calls `onNotify` for each NOTIFY on `channel`, and on every
// (re)connect (whatever was committed while nobody listened is due then). When the connection is lost it
// reconnects after a second; the caller's polling covers the gap.
import { Client } from 'pg';
import type { Logger } from '../logging';

export class NotifyListener {
  private client: Client | undefined;
  private active = false;

  constructor(private readonly options: { databaseUrl: string; channel: string; onNotify: () => void; logger: Logger }) {}

  async start(): Promise<void> {
    this.active = true;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (!this.active) return;
    const { databaseUrl, channel, onNotify, logger } = this.options;
    const client = new Client({ connectionString: databaseUrl });
    const retry = () => {
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.active) setTimeout(() => void this.connect().catch(() => undefined), 1000).unref();
    };
    client.on('error', (err) => {
      logger.warn({ err: err.message, channel }, 'listener lost; polling until it is back');
      retry();
    });
    client.on('notification', () => onNotify());
    try {
      await client.connect();
      await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      if (!this.active) {
        await client.end();
        return;
      }
      this.client = client;
      onNotify();
    } catch (err) {
      logger.warn({ err: (err as Error).message, channel }, 'listener could not connect; polling');
      retry();
    }
  }

  async stop(): Promise<void> {
    this.active = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
