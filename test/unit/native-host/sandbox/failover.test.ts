import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandgateError, type Verdict } from '@sandgate/shared';
import { EventLog } from '../../../../native-host/src/events/event-log.ts';
import type { Clock } from '../../../../native-host/src/clock.ts';
import { Failover } from '../../../../native-host/src/sandbox/failover.ts';
import type { SandboxClient } from '../../../../native-host/src/sandbox/sandbox-client.ts';
import { ServerHealthBoard } from '../../../../native-host/src/sandbox/server-health.ts';
import { failoverDecision, roundBackoffMs } from '../../../../native-host/src/sandbox/retry-policy.ts';
import { networkErrorCode } from '../../../../native-host/src/sandbox/network-error-code.ts';

let dir: string;
let events: EventLog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-failover-'));
  events = new EventLog(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A clock whose sleeps return at once and are written into the shared transcript. */
function fakeClock(transcript: string[], random = 0.5): Clock {
  let t = Date.parse('2026-11-22T09:00:00Z');
  return {
    now: () => new Date(t),
    random: () => random,
    sleep: async (ms) => {
      transcript.push(`sleep ${ms}`);
      t += ms;
    },
  };
}

/** A server that answers from a script: an error code or a verdict, one entry per call (the last one repeats). */
function scripted(url: string, transcript: string[], script: Array<string | Verdict>): SandboxClient {
  let i = 0;
  return {
    url,
    kind: 'sandgate',
    analyse: async () => {
      transcript.push(`ask ${url}`);
      const step = script[Math.min(i++, script.length - 1)]!;
      if (typeof step === 'string') throw new SandgateError(step as 'SERVER_UNREACHABLE', `${url} failed`);
      return step;
    },
    probe: async () => {
      transcript.push(`probe ${url}`);
    },
    close: () => {},
  };
}

const obj = { sha256: 'a'.repeat(64), size: 1, path: '/dev/null' };
const clean = (server: string): Verdict => ({ level: 'clean', server });

function failover(clients: SandboxClient[], clock: Clock) {
  const health = new ServerHealthBoard(clients);
  return { f: new Failover({ clients, health, events, clock, backoffBaseMs: 1000, backoffMaxMs: 8000 }), health };
}

describe('failover', () => {
  it('moves to the next server at once when one fails, without sleeping', async () => {
    const t: string[] = [];
    const { f, health } = failover([scripted('https://a.example:1', t, ['SERVER_UNREACHABLE']), scripted('https://b.example:1', t, [clean('https://b.example:1')])], fakeClock(t));
    const v = await f.analyse(obj, { signal: new AbortController().signal });
    expect(v.server).toBe('https://b.example:1');
    expect(t).toEqual(['ask https://a.example:1', 'ask https://b.example:1']);
    expect(health.snapshot().map((h) => h.state)).toEqual(['failing', 'healthy']);
    expect(events.read().events).toEqual([expect.objectContaining({ type: 'server-error', server: 'https://a.example:1', code: 'SERVER_UNREACHABLE' })]);
  });

  it('all servers down backs off once per round, doubling, then delivers when one comes back', async () => {
    const t: string[] = [];
    const rounds: number[] = [];
    const a = scripted('https://a.example:1', t, ['SERVER_CONNECT_TIMEOUT', 'SERVER_CONNECT_TIMEOUT', 'SERVER_CONNECT_TIMEOUT', clean('https://a.example:1')]);
    const b = scripted('https://b.example:1', t, ['TLS_CERTIFICATE_REJECTED']);
    const { f } = failover([a, b], fakeClock(t, 1));
    const v = await f.analyse(obj, { signal: new AbortController().signal, onRoundFailed: (e, r) => {
        expect(e.code).toBe('ALL_SERVERS_FAILED');
        rounds.push(r);
      },
    });
    expect(v.level).toBe('clean');
    expect(t).toEqual([
      'ask https://a.example:1', 'ask https://b.example:1', 'sleep 1000',
      'ask https://a.example:1', 'ask https://b.example:1', 'sleep 2000',
      'ask https://a.example:1', 'ask https://b.example:1', 'sleep 4000',
      'ask https://a.example:1',
    ]);
    expect(rounds).toEqual([1, 2, 3]);
  });

  it('tries the next server after a server kind this version cannot speak', async () => {
    const t: string[] = [];
    const { f } = failover([scripted('https://cape.example:1', t, ['SERVER_KIND_UNSUPPORTED']), scripted('https://b.example:1', t, [clean('https://b.example:1')])], fakeClock(t));
    await expect(f.analyse(obj, { signal: new AbortController().signal })).resolves.toMatchObject({ level: 'clean' });
  });

  it('gives up on the job when a server says the object cannot be analysed', async () => {
    const t: string[] = [];
    const { f } = failover([scripted('https://a.example:1', t, ['ANALYSIS_FAILED']), scripted('https://b.example:1', t, [clean('https://b.example:1')])], fakeClock(t));
    await expect(f.analyse(obj, { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'ANALYSIS_FAILED' });
    expect(t).toEqual(['ask https://a.example:1']);
  });

  it('stops at once when the agent is stopping', async () => {
    const t: string[] = [];
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    const { f } = failover([scripted('https://a.example:1', t, [clean('https://a.example:1')])], fakeClock(t));
    await expect(f.analyse(obj, { signal: ac.signal })).rejects.toThrow('stopping');
    expect(t).toEqual([]);
  });
});

describe('retry policy', () => {
  it('jitters the pause between 50 % and 100 % of a doubling ceiling', () => {
    expect(roundBackoffMs(1, 0, 1000, 60_000)).toBe(500);
    expect(roundBackoffMs(1, 1, 1000, 60_000)).toBe(1000);
    expect(roundBackoffMs(3, 1, 1000, 60_000)).toBe(4000);
    expect(roundBackoffMs(50, 1, 1000, 60_000)).toBe(60_000);
  });

  it.each([
    ['ANALYSIS_FAILED', 'fail-job'],
    ['SERVER_ERROR', 'next-server'],
    ['TLS_CERTIFICATE_REJECTED', 'next-server'],
    ['SERVER_KIND_UNSUPPORTED', 'next-server'],
    ['SERVER_RESPONSE_INVALID', 'next-server'],
  ] as const)('%s → %s', (code, decision) => {
    expect(failoverDecision(code)).toBe(decision);
  });

  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_CERTIFICATE_REJECTED'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS_CERTIFICATE_REJECTED'],
    ['CERT_HAS_EXPIRED', 'TLS_CERTIFICATE_REJECTED'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_CERTIFICATE_REJECTED'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS_HANDSHAKE_FAILED'],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'TLS_HANDSHAKE_FAILED'],
    ['ECONNREFUSED', 'SERVER_UNREACHABLE'],
    ['ECONNRESET', 'SERVER_UNREACHABLE'],
  ])('network error %s is reported as %s', (code, expected) => {
    expect(networkErrorCode(Object.assign(new Error(code), { code }))).toBe(expected);
  });
});
