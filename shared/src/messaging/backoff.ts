// The one retry delay of every background worker (outbox relay, mailer, consumer): exponential, capped.

export interface Backoff {
  /** The wait after the first failure. */
  baseMs: number;
  /** The longest wait, however many failures. */
  maxMs: number;
}

/** The wait after the `failures`-th consecutive failure (1, 2, ...): `baseMs`, doubling each time, at most `maxMs`. */
export function backoffDelay(failures: number, { baseMs, maxMs }: Backoff): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(maxMs, baseMs * 2 ** doublings);
}
