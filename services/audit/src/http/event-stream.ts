// Server-Sent Events on a Koa response: events, heartbeat comments, and a bounded send buffer (a client
// that does not read is dropped rather than buffered without limit).
import type { ServerResponse } from 'node:http';
import { AppError, currentUser, type Logger, tokenExpiresAt } from '@taskflow/shared';
import type { Context } from 'koa';
import type { StreamSink } from '../domain/feed-stream';
import type { StreamSlots } from '../domain/stream-slots';

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
    this.sendFrame(eventFrame({ id, event, data }));
  }

  /** An event already formatted by `eventFrame` (one text for every stream that sends it). */
  sendFrame(frame: string): void {
    this.write(frame);
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

export interface StreamSettings {
  heartbeatMs: number;
  maxBufferedBytes: number;
}

/** What every stream route needs besides its own use case. */
export interface StreamRouteDeps {
  slots: StreamSlots;
  settings: StreamSettings;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The position a client resumes from: the Last-Event-ID header an EventSource sends on reconnect, else `?after=`. */
export function resumeFrom(ctx: Context, after: string | undefined): string | undefined {
  const header = ctx.get('last-event-id').trim();
  if (header === '') return after;
  if (!UUID.test(header)) throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID must be the id of an event.', { after: ['Must be an event id (UUID).'] });
  return header.toLowerCase();
}

/** One item as an event: `id`, `event` name, `data` (JSON). */
export interface StreamEvent {
  id: string;
  event: string;
  data: unknown;
}

/** The text of one event on the wire. */
export function eventFrame({ id, event, data }: StreamEvent): string {
  return `id: ${field(id)}\nevent: ${field(event)}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Frames by delivered item: a live row reaches every stream subscribed to it as the same object (per
 * reader role, see the activity stream), so it is presented and serialized once per process rather than
 * once per stream. Weak: a frame lives as long as its item.
 */
const frames = new WeakMap<object, string>();

/**
 * Runs one event stream for the caller: a slot under STREAMS_PER_USER, then `start` (which checks access
 * and position and may throw an ordinary problem response before the first byte), headers, and events
 * until the client leaves, the token expires or the sink is ended.
 */
export async function runEventStream<T extends object>(
  ctx: Context,
  deps: StreamRouteDeps,
  present: (item: T) => StreamEvent,
  start: (sink: StreamSink<T>) => Promise<() => void>,
): Promise<void> {
  const release = await deps.slots.take(currentUser(ctx).id);
  const stream = new EventStream(ctx, { ...deps.settings, endsAt: tokenExpiresAt(ctx) });
  const sink: StreamSink<T> = {
    deliver(item) {
      stream.open(ctx);
      let frame = frames.get(item as object);
      if (frame === undefined) frames.set(item as object, (frame = eventFrame(present(item))));
      stream.sendFrame(frame);
    },
    end: (reason) => stream.end(reason),
    get closed() {
      return stream.closed;
    },
    get backlogged() {
      return stream.backlogged;
    },
    drained: () => stream.drained(),
  };
  let stop: (() => void) | undefined;
  try {
    try {
      stop = await start(sink);
    } catch (err) {
      // Before the first byte an error is an ordinary problem response; after it, the stream just ends.
      if (!stream.isOpen) throw err;
      deps.logger.warn({ err }, 'event stream failed');
      stream.end('failed');
    }
    stream.open(ctx);
    const reason = await stream.ended;
    deps.logger.debug({ reason }, 'event stream ended');
  } finally {
    stop?.();
    stream.end('server_closing');
    release();
  }
}

/** The responses every stream route documents besides its own. */
export const streamResponses = {
  429: { description: 'STREAMS_PER_USER streams are already open', problem: { code: 'too_many_streams', detail: 'At most 5 open streams per user; close one first.' } },
} as const;
