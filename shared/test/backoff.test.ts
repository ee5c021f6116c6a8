import { backoffDelay } from '@taskflow/shared';

describe('backoffDelay', () => {
  const backoff = { baseMs: 200, maxMs: 5000 };

  it.each([
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1600],
    [5, 3200],
    [6, 5000],
    [7, 5000],
    [1000, 5000],
  ])('waits %i consecutive failures out for %i ms', (failures, ms) => {
    expect(backoffDelay(failures, backoff)).toBe(ms);
  });

  it('waits the base when no failure is counted yet', () => {
    expect(backoffDelay(0, backoff)).toBe(200);
  });
});
