import type { ErrorCode, SandgateError } from '@sandgate/shared';

export type FailoverDecision = 'next-server' | 'analyse-again' | 'fail-job';

/**
 * How many analyses of one object may fail on the server side (the sandbox looked at it and could not finish: a
 * crashed guest, a processing error) before its job ends ANALYSIS_FAILED. Each failure after the first few is likely
 * to repeat, and each costs a full upload and analysis; three gives a transient fault two more chances. Counted per
 * job run, across servers and failover rounds.
 */
export const MAX_ANALYSIS_ATTEMPTS = 3;

/**
 * What the failover does after a server failed with `code`, when `failedAnalyses` analyses of the object (this one
 * included) have failed on the server side so far. A failed analysis is asked for again (the client then uploads the
 * object afresh) until MAX_ANALYSIS_ATTEMPTS have failed, which ends the job; everything else (network, TLS, a server
 * kind we cannot speak yet, a broken answer) is a reason to ask the next server and, after a full round, to try again
 * later.
 */
export function failoverDecision(code: ErrorCode, failedAnalyses = 1): FailoverDecision {
  if (code !== 'ANALYSIS_FAILED') return 'next-server';
  return failedAnalyses < MAX_ANALYSIS_ATTEMPTS ? 'analyse-again' : 'fail-job';
}

/** Faults of the server or the path to it, which the next request would most likely meet again. */
const SERVER_FAULTS = new Set<ErrorCode>([
  'SERVER_UNREACHABLE',
  'SERVER_CONNECT_TIMEOUT',
  'SERVER_TIMEOUT',
  'TLS_CERTIFICATE_REJECTED',
  'TLS_CERTIFICATE_EXPIRED',
  'TLS_HOSTNAME_MISMATCH',
  'TLS_HANDSHAKE_FAILED',
  'SERVER_RESPONSE_INVALID',
  'SERVER_THROTTLED',
]);

/**
 * Whether a server that failed with `err` is passed over by later requests until a probe finds it healthy. Not for
 * answers about one object or one credential (a 4xx, ANALYSIS_FAILED, a refused token, a kind we cannot speak): a
 * health probe would pass at once and the server would flap between skipped and recovered.
 */
export function skipsServer(err: SandgateError): boolean {
  if (err.code === 'SERVER_ERROR') {
    const status = err.params?.status;
    return typeof status !== 'number' || status >= 500;
  }
  return SERVER_FAULTS.has(err.code);
}

/** Pause after the `round`-th full failed round (1-based): doubling from `baseMs` up to `maxMs`, jittered to 50–100 %. */
export function roundBackoffMs(round: number, random: number, baseMs = 1000, maxMs = 60_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, round - 1)));
  return Math.round(ceiling * (0.5 + random * 0.5));
}
