// One process's view of a growing feed table: reads each new row once for all its streams and hands it,
// in feed order and synchronously, to the streams subscribed to the row's keys.
import type { Logger } from '@taskflow/shared';

export interface FeedRow {
  seq: number;
}

export interface FeedTailOptions<R extends FeedRow> {
  name: string;
  lastSeq(): Promise<number>;
  readAfter(seq: number, limit: number): Promise<R[]>;
  /** The subscription keys a row is delivered under (an organization, a user, ...). */
  keysOf(row: R): string[];
  logger: Logger;
  batchSize?: number;
  retryDelayMs?: number;
}

export type FeedListener<R> = (row: R) => void;

export class FeedTail<R extends FeedRow> {
  private last = 0;
  private reading = false;
  private again = false;
  private stopped = false;
  private readonly subscribers = new Map<string, Set<FeedListener<R>>>();

  constructor(private readonly options: FeedTailOptions<R>) {}

  async start(): Promise<void> {
    this.last = await this.options.lastSeq();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Every row after this position will still be handed to subscribers; none at or before it will. */
  get position(): number {
    return this.last;
  }

  /** Called for each row of `key` from now on, until the returned function is called. */
  subscribe(key: string, listener: FeedListener<R>): () => void {
    let set = this.subscribers.get(key);
    if (!set) this.subscribers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.subscribers.get(key) === set) this.subscribers.delete(key);
    };
  }

  /** New rows were committed: read them (one read at a time; wakes during a read cause one more). */
  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    void this.read();
  }

  private async read(): Promise<void> {
    this.reading = true;
    const batch = this.options.batchSize ?? 500;
    try {
      do {
        this.again = false;
        let rows: R[];
        do {
          rows = await this.options.readAfter(this.last, batch);
          for (const row of rows) this.dispatch(row);
        } while (rows.length === batch && !this.stopped);
      } while (this.again && !this.stopped);
    } catch (err) {
      this.options.logger.warn({ feed: this.options.name, err: (err as Error).message }, 'feed read failed; retrying');
      setTimeout(() => this.wake(), this.options.retryDelayMs ?? 500).unref();
    } finally {
      this.reading = false;
    }
  }

  private dispatch(row: R): void {
    this.last = row.seq;
    const listeners = new Set<FeedListener<R>>();
    for (const key of this.options.keysOf(row)) for (const l of this.subscribers.get(key) ?? []) listeners.add(l);
    for (const listener of listeners) {
      try {
        listener(row);
      } catch (err) {
        this.options.logger.error({ feed: this.options.name, err }, 'feed subscriber failed');
      }
    }
  }
}
