import { restartDelayMs } from './http-cluster';

describe('restartDelayMs', () => {
  const backoff = { initialMs: 100, maxMs: 1_000, resetAfterMs: 10_000 };

  it('doubles with every crash in a row', () => {
    expect([1, 2, 3, 4].map((crashes) => restartDelayMs(crashes, backoff))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('never waits longer than maxMs', () => {
    expect(restartDelayMs(5, backoff)).toBe(1_000);
    expect(restartDelayMs(1_000, backoff)).toBe(1_000);
  });
});
