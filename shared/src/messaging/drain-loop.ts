// A background round that drains a table: run when woken (NOTIFY, or in-process after a commit), at the
// latest after the delay the previous round asked for, and after a backoff when a round fails.
// Rounds never overlap: a wake during a round runs one more round right after it.

export interface DrainLoopOptions {
  /** One round of work; resolves to how long to wait (ms) before the next round at the latest. */
  round: () => Promise<number>;
  /** After a failed round: how long to wait (ms). `failures` counts consecutive failed rounds. */
  retryAfter: (err: unknown, failures: number) => number;
}

export class DrainLoop {
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private current: Promise<void> | undefined;
  private wakeAgain = false;
  private failures = 0;

  constructor(private readonly options: DrainLoopOptions) {}

  get running(): boolean {
    return this.active;
  }

  start(): void {
    this.active = true;
    this.wake();
  }

  /** Runs a round now, or right after the one in progress. */
  wake(): void {
    if (!this.active) return;
    if (this.current) {
      this.wakeAgain = true;
      return;
    }
    this.current = this.runRound().finally(() => {
      this.current = undefined;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  private async runRound(): Promise<void> {
    try {
      const next = await this.options.round();
      this.failures = 0;
      this.schedule(next);
    } catch (err) {
      this.failures += 1;
      this.schedule(this.options.retryAfter(err, this.failures));
    }
  }

  private schedule(ms: number): void {
    if (!this.active) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), Math.max(0, ms));
    this.timer.unref();
  }

  /** Stops scheduling and waits for the round in progress. */
  async stop(): Promise<void> {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
  }
}

/** Runs `task` now and every `intervalMs` until the returned loop is stopped (a failure retries within a minute). */
export function runPeriodically(intervalMs: number, task: () => Promise<unknown>): DrainLoop {
  const loop = new DrainLoop({
    round: async () => {
      await task();
      return intervalMs;
    },
    retryAfter: () => Math.min(intervalMs, 60_000),
  });
  loop.start();
  return loop;
}
