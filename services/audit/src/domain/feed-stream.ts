// One stream mechanism for every live feed (the change feed, a person's notifications): follow keys of a
// FeedTail, replay what the table holds after a position, then run live, with no gap and no duplicate at
// the seam between the two.
import type { FeedRow, FeedTail } from './feed-tail';

/** Where a stream's items go (the HTTP layer's Server-Sent Events response). */
export interface StreamSink<T> {
  deliver(item: T): void;
  end(reason: 'access_revoked'): void;
  /** True once the client is gone; the stream stops reading. */
  readonly closed: boolean;
  /** The client is behind: a replay waits for `drained()` rather than buffering more. */
  readonly backlogged: boolean;
  drained(): Promise<void>;
}

/** A running stream, as its rules see it. */
export interface FeedStream {
  /** Delivers rows of `key` from now on (a replay in progress reads them too). */
  follow(key: string): void;
  readonly keys: readonly string[];
  /** Stops following; nothing more is handled. */
  close(): void;
  readonly closed: boolean;
}

export interface FeedStreamSpec<R extends FeedRow> {
  tail: FeedTail<R>;
  /** Rows after this position are streamed (the client's last seen row, or the tail's position: live only). */
  after: number;
  keys: readonly string[];
  /** The rows of `keys` after `after`, in feed order, at most `limit` (the table, for a replay). */
  replay(keys: readonly string[], after: number, limit: number): Promise<R[]>;
  /** Each row once, in feed order, replayed or live. */
  handle(row: R, stream: FeedStream): void;
  /** Synchronously as a live row arrives, before it waits for a replay to finish: follow a key it opens. */
  arrived?(row: R, stream: FeedStream): void;
  sink: Pick<StreamSink<unknown>, 'closed' | 'backlogged' | 'drained'>;
  /** Live rows held while a replay runs; beyond it the replay simply reads on from the table. */
  maxPendingRows?: number;
}

const REPLAY_PAGE = 500;

/**
 * Subscribes first, then replays from the table: rows committed meanwhile are held, and the position
 * drops duplicates. If more arrive than may be held, they are dropped and the replay reads on, since
 * the table holds them after the position. Resolves once the stream runs live; call the returned
 * function when it ends.
 */
export async function followFeed<R extends FeedRow>(spec: FeedStreamSpec<R>): Promise<() => void> {
  const { tail, sink } = spec;
  const maxPending = spec.maxPendingRows ?? 1000;
  const unsubscribers = new Map<string, () => void>();
  let position = spec.after;
  let replaying = true;
  let pending: R[] = [];
  let overflowed = false;
  let closed = false;

  const stream: FeedStream = {
    follow(key) {
      if (!closed && !unsubscribers.has(key)) unsubscribers.set(key, tail.subscribe(key, onRow));
    },
    get keys() {
      return [...unsubscribers.keys()];
    },
    close() {
      closed = true;
      for (const unsubscribe of unsubscribers.values()) unsubscribe();
      unsubscribers.clear();
    },
    get closed() {
      return closed;
    },
  };

  function handle(row: R): void {
    if (closed || row.seq <= position) return;
    position = row.seq;
    spec.handle(row, stream);
  }

  function onRow(row: R): void {
    if (sink.closed) return stream.close();
    spec.arrived?.(row, stream);
    if (!replaying) return handle(row);
    if (pending.length >= maxPending) {
      overflowed = true;
      pending = [];
    } else pending.push(row);
  }

  for (const key of spec.keys) stream.follow(key);
  try {
    do {
      overflowed = false;
      for (;;) {
        const rows = await spec.replay(stream.keys, position, REPLAY_PAGE);
        for (const row of rows) {
          handle(row);
          if (sink.backlogged) await sink.drained();
        }
        if (rows.length < REPLAY_PAGE || closed || sink.closed) break;
      }
    } while (overflowed && !closed && !sink.closed);
  } catch (err) {
    stream.close();
    throw err;
  }
  replaying = false;
  const held = pending;
  pending = [];
  for (const row of held) handle(row);
  return () => stream.close();
}
