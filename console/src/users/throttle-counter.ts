/**
 * One failed-login counter: a leaky bucket with lockouts. Plain data and pure functions, so the counters can move to a
 * database table keyed by (rule, key) without changing the rules: one row holds exactly these three fields.
 */
export interface FailureCounter {
  failures: number;
  /** From when the count next loses a failure: the first failure counted, or the end of the lockout. */
  decayFrom: number;
  lockedUntil: number;
}

export interface CounterTiming {
  /**
   * One counted failure is forgotten per this much time outside a lockout (a leaky bucket, not a window that resets):
   * a guesser who keeps just under the limit per window still locks as soon as failures come faster than this.
   */
  decayMs: number;
  /** The first lockout; each further failure after a lockout doubles it. */
  baseLockoutMs: number;
  maxLockoutMs: number;
}

export function freshCounter(now: number): FailureCounter {
  return { failures: 0, decayFrom: now, lockedUntil: 0 };
}

/** Forgets one failure per whole `decayMs` since `decayFrom` (never during a lockout: `decayFrom` is its end). */
export function decayCounter(c: FailureCounter, now: number, t: CounterTiming): void {
  const steps = Math.floor((now - c.decayFrom) / t.decayMs);
  if (steps <= 0 || c.failures === 0) return;
  c.failures = Math.max(0, c.failures - steps);
  c.decayFrom += steps * t.decayMs;
}

/** Counts a failure against a limit of `max`; returns the lockout it starts, if any. */
export function countFailure(c: FailureCounter, max: number, now: number, t: CounterTiming): number | undefined {
  decayCounter(c, now, t);
  if (c.failures === 0) c.decayFrom = now;
  c.failures++;
  if (c.failures < max) return undefined;
  const lockout = Math.min(t.baseLockoutMs * 2 ** (c.failures - max), t.maxLockoutMs);
  c.lockedUntil = Math.max(c.lockedUntil, now + lockout);
  // Nothing is forgotten during a lockout, or waiting it out would also pay off the failures that caused it.
  c.decayFrom = c.lockedUntil;
  return lockout;
}

/** Nothing left to remember: no failure counted and no lockout running. */
export function counterIsIdle(c: FailureCounter, now: number, t: CounterTiming): boolean {
  decayCounter(c, now, t);
  return c.failures === 0 && c.lockedUntil <= now;
}
