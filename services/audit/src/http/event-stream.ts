// Server-Sent Events on a Koa response: events, heartbeat comments, and a bounded send buffer (a client
// that does not read is dropped rather than buffered without limit).
import type { ServerResponse } from 'node:http';
import type { Context } from 'koa';

export interface EventStreamOptions {
  heartbeatMs: number;
  /** Bytes waiting for a slow client beyond which it is disconnected. */
  maxBufferedBytes: number;
  /** The stream ends here (the access token's expiry). */
  endsAt: number;
}

export type StreamEnd = 'client_closed' | 'slow_client' | 'token_expired' | 'access_revoked' | 'server_closing' | 'failed';

/** A single-line SSE field value (entry JSON never holds a raw newline; ids and verbs are ours). */
const field = (value: string) => value.replace(/[\r\n]/g, ' ');

export class EventStream {
  private readonly res: ServerResponse;
  private heartbeat: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private endReason: StreamEnd | undefined;
  private resolveEnded!: (reason: StreamEnd) => void;
  /** Settles with the reason once the stream is over, whoever ended it. */
  readonly ended: Promise<StreamEnd> = new Promise((resolve) => (this.resolveEnded = resolve));

  constructor(
    ctx: Context,
    private readonly options: EventStreamOptions,
  ) {
    this.res = ctx.res;
    ctx.req.socket.setNoDelay(true);
    this.res.on('close', () => this.finish('client_closed'));
    this.res.on('error', () => this.finish('client_closed'));
  }

  get closed(): boolean {
    return this.endReason !== undefined;
  }

  get isOpen(): boolean {
    return this.res.headersSent;
  }

  /** Sends the headers once (Koa stays out of this response from here on). */
  open(ctx: Context): void {
    if (this.res.headersSent || this.closed) return;
    ctx.respond = false;
    ctx.status = 200;
    this.res.writeHead(200, {
      ...(ctx.response.headers as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    // A comment first, so clients and proxies see the stream open at once.
    this.write(': open\n\n');
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), this.options.heartbeatMs);
    this.expiry = setTimeout(() => this.end('token_expired'), Math.max(0, this.options.endsAt - Date.now()));
  }

  /** More than half the buffer limit waits for the client: a producer that can wait (a replay) should. */
  get backlogged(): boolean {
    return !this.closed && this.res.writableLength > this.options.maxBufferedBytes / 2;
  }

  /** Resolves when the client has taken what was buffered, or the stream ended. */
  drained(): Promise<void> {
    if (!this.backlogged) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  send(id: string, event: string, data: unknown): void {
    this.write(`id: ${field(id)}\nevent: ${field(event)}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream politely: a last comment saying why, then the end of the response. */
  end(reason: StreamEnd): void {
    if (this.closed) return;
    if (this.res.headersSent && !this.res.destroyed) this.res.end(`: end ${reason}\n\n`);
    this.finish(reason);
  }

  private write(text: string): void {
    if (this.closed || this.res.destroyed) return;
    this.res.write(text);
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      this.finish('slow_client');
      this.res.destroy();
    }
  }

  private finish(reason: StreamEnd): void {
    if (this.endReason) return;
    this.endReason = reason;
    clearInterval(this.heartbeat);
    clearTimeout(this.expiry);
    this.resolveEnded(reason);
  }
}
