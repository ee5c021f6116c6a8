import { DrainLoop } from '@taskflow/shared';
import { eventually } from '@taskflow/shared/testing';

describe('DrainLoop', () => {
  it('never overlaps rounds and runs one more round for wakes that came during a round', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let rounds = 0;
    let release: () => void = () => undefined;
    const loop = new DrainLoop({
      round: async () => {
        rounds += 1;
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        if (rounds === 1) await new Promise<void>((r) => (release = r));
        concurrent -= 1;
        return 60_000;
      },
      retryAfter: () => 60_000,
    });
    loop.start();
    loop.wake();
    loop.wake();
    loop.wake();
    release();
    await eventually(() => rounds === 2);
    await loop.stop();
    expect({ rounds, maxConcurrent }).toEqual({ rounds: 2, maxConcurrent: 1 });
  });

  it('retries a failed round after the delay it is told, counting consecutive failures', async () => {
    const failures: number[] = [];
    let rounds = 0;
    const loop = new DrainLoop({
      round: async () => {
        rounds += 1;
        if (rounds <= 3) throw new Error('down');
        return 60_000;
      },
      retryAfter: (_err, n) => {
        failures.push(n);
        return 5;
      },
    });
    loop.start();
    await eventually(() => rounds === 4);
    await loop.stop();
    expect(failures).toEqual([1, 2, 3]);
  });

  it('runs nothing once stopped', async () => {
    let rounds = 0;
    const loop = new DrainLoop({ round: async () => ((rounds += 1), 1), retryAfter: () => 1 });
    loop.start();
    await eventually(() => rounds >= 1);
    await loop.stop();
    const after = rounds;
    loop.wake();
    await new Promise((r) => setImmediate(r));
    expect(rounds).toBe(after);
  });
});
