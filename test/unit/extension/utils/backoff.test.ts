import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../../extension/utils/backoff.ts';

describe('reconnect backoff', () => {
  it.each([
    [0, 1000],
    [1, 2000],
    [2, 4000],
    [5, 32_000],
    [6, 60_000],
    [50, 60_000],
  ])('attempt %i waits at most %i ms and at least half of it', (attempt, max) => {
    expect(backoffDelay(attempt, () => 1)).toBe(max);
    expect(backoffDelay(attempt, () => 0)).toBe(max / 2);
    const jittered = backoffDelay(attempt, () => 0.3);
    expect(jittered).toBeGreaterThan(max / 2);
    expect(jittered).toBeLessThan(max);
  });
});
