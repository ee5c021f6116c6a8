// Sliding-window limits behind one async interface, so a shared store (Redis) can replace the in-memory one.

export interface LimitDecision {
  allowed: boolean;
  /** Seconds until one more hit would be allowed (0 when allowed). */
  retryAfterSeconds: number;
  /** When allowed: the hit that was counted, to give back with `release`. */
  hit?: string;
}

/**
 * Counts hits per key over a sliding window. `take` checks and counts in one atomic step, so N
 * concurrent callers never get more than `limit` hits through; a reserved hit can be given back.
 */
export interface RateLimiter {
  /** Counts one hit for `key` if the window has room, else refuses it (counting nothing). */
  take(key: string): Promise<LimitDecision>;
  /** Gives back one hit taken earlier (the attempt turned out not to count), freeing its place at once. */
  release(key: string, hit: string): Promise<void>;
  /** Forgets every hit of `key`. */
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface SlidingWindowOptions {
  /** Hits allowed per key within `windowMs`. */
  limit: number;
  windowMs: number;
  /** Injectable clock (ms), for tests. */
  now?: () => number;
  /** How often keys with no hit inside the window are dropped (default: the window, at most a minute). */
  sweepIntervalMs?: number;
}

interface Hit {
  at: number;
  id: string;
}

/**
 * The in-memory limiter of one gateway instance. Keeps at most `limit` hits per key, so memory is
 * bounded by keys × limit; a periodic sweep forgets keys whose hits have all left the window.
 */
export class SlidingWindowLimiter implements RateLimiter {
  private readonly hits = new Map<string, Hit[]>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private nextId = 0;

  constructor(private readonly options: SlidingWindowOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? Math.min(options.windowMs, 60_000));
    this.sweeper.unref();
  }

  // Synchronous inside: nothing can interleave between the check and the count.
  async take(key: string): Promise<LimitDecision> {
    const recent = this.recent(key);
    if (recent.length >= this.options.limit) {
      const freesAt = recent[recent.length - this.options.limit]!.at + this.options.windowMs;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - this.now()) / 1000)) };
    }
    this.nextId += 1;
    const hit = { at: this.now(), id: String(this.nextId) };
    recent.push(hit);
    this.hits.set(key, recent);
    return { allowed: true, retryAfterSeconds: 0, hit: hit.id };
  }

  async release(key: string, hit: string): Promise<void> {
    const recent = this.hits.get(key);
    const index = recent?.findIndex((h) => h.id === hit) ?? -1;
    if (index >= 0) recent!.splice(index, 1);
  }

  async reset(key: string): Promise<void> {
    this.hits.delete(key);
  }

  /** Drops keys with no hit inside the window. */
  sweep(): void {
    const cutoff = this.now() - this.options.windowMs;
    for (const [key, hits] of this.hits) {
      if (hits.length === 0 || hits[hits.length - 1]!.at <= cutoff) this.hits.delete(key);
    }
  }

  get size(): number {
    return this.hits.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private recent(key: string): Hit[] {
    const hits = this.hits.get(key);
    if (!hits) return [];
    const cutoff = this.now() - this.options.windowMs;
    let expired = 0;
    while (expired < hits.length && hits[expired]!.at <= cutoff) expired += 1;
    if (expired > 0) hits.splice(0, expired);
    return hits;
  }
}
