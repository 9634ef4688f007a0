/** Reconnect delays for the native port: exponential from 1 s, capped at 60 s. */
export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;

/**
 * Delay before reconnect attempt `attempt` (0-based). "Equal jitter": half the delay is fixed and half random, so
 * browsers restarted together by a fleet update do not hammer their agents in lockstep, yet never retry instantly.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(exp / 2 + (exp / 2) * random());
}
