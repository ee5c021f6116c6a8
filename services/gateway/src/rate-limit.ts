// In-memory sliding-window limits, per gateway instance (each replica counts on its own).

export interface LimitDecision {
  allowed: boolean;
  /** Seconds until one more hit would be allowed (0 when allowed). */
  retryAfterSeconds: number;
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

/**
 * Counts hits per key over a sliding window. Keeps at most `limit` timestamps per key, so memory is
 * bounded by keys × limit; a periodic sweep forgets keys whose hits have all left the window.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: SlidingWindowOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? Math.min(options.windowMs, 60_000));
    this.sweeper.unref();
  }

  /** Whether one more hit for `key` is allowed now; does not count it. */
  check(key: string): LimitDecision {
    const recent = this.recent(key);
    if (recent.length < this.options.limit) return { allowed: true, retryAfterSeconds: 0 };
    const freesAt = recent[recent.length - this.options.limit]! + this.options.windowMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - this.now()) / 1000)) };
  }

  record(key: string): void {
    const recent = this.recent(key);
    recent.push(this.now());
    if (recent.length > this.options.limit) recent.splice(0, recent.length - this.options.limit);
    this.hits.set(key, recent);
  }

  /** Counts a hit if it is allowed. */
  take(key: string): LimitDecision {
    const decision = this.check(key);
    if (decision.allowed) this.record(key);
    return decision;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  /** Drops keys with no hit inside the window. */
  sweep(): void {
    const cutoff = this.now() - this.options.windowMs;
    for (const [key, times] of this.hits) {
      if (times.length === 0 || times[times.length - 1]! <= cutoff) this.hits.delete(key);
    }
  }

  get size(): number {
    return this.hits.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private recent(key: string): number[] {
    const times = this.hits.get(key);
    if (!times) return [];
    const cutoff = this.now() - this.options.windowMs;
    let expired = 0;
    while (expired < times.length && times[expired]! <= cutoff) expired += 1;
    if (expired > 0) times.splice(0, expired);
    return times;
  }
}
