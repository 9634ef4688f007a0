import type { ErrorCode } from '@sandgate/shared';

export type FailoverDecision = 'next-server' | 'fail-job';

/**
 * What the failover does after a server failed with `code`. Only a server that looked at the object and could not
 * analyse it ends the job; everything else (network, TLS, a server kind we cannot speak yet, a broken answer) is a
 * reason to ask the next server and, after a full round, to try again later.
 */
export function failoverDecision(code: ErrorCode): FailoverDecision {
  return code === 'ANALYSIS_FAILED' ? 'fail-job' : 'next-server';
}

/** Pause after the `round`-th full failed round (1-based): doubling from `baseMs` up to `maxMs`, jittered to 50–100 %. */
export function roundBackoffMs(round: number, random: number, baseMs = 1000, maxMs = 60_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, round - 1)));
  return Math.round(ceiling * (0.5 + random * 0.5));
}
