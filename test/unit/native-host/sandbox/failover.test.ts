import { describe, expect, it } from 'vitest';
import { SandgateError, type ErrorCode } from '@sandgate/shared';
import type { SandboxClient } from '#native-host/sandbox/sandbox-client.ts';
import { MAX_ANALYSIS_ATTEMPTS, failoverDecision, roundBackoffMs, skipsServer } from '#native-host/sandbox/retry-policy.ts';
import { httpStatusCode, networkErrorCode } from '#native-host/sandbox/network-error-code.ts';
import { A, B, SimClock, clean, go, scripted, useFailovers } from './fixture.ts';
import { bytesBody } from '#native-host/queue/object-body.ts';

const bench = useFailovers('sg-failover-');
const events = () => bench.events();
const obj = { sha256: 'a'.repeat(64), body: bytesBody(Buffer.from('x')) };
const failover = (clients: SandboxClient[], clock: SimClock) => bench.failover(clients, clock, { backoffBaseMs: 1000, backoffMaxMs: 8000 });

const serverEvents = () =>
  events()
    .read()
    .events.filter((e) => e.type === 'server-error' || e.type === 'server-recovered')
    .map((e) => `${e.type} ${e.server} ${e.code ?? ''}`.trim());

describe('failover', () => {
  it('moves to the next server at once when one fails, without sleeping', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const { f, health } = failover([scripted(A, clock, t, ['SERVER_UNREACHABLE']), scripted(B, clock, t, [clean(B)])], clock);
    const v = await clock.run(f.analyse(obj, go()));
    expect(v.server).toBe(B);
    expect(t).toEqual([`+0 ask ${A}`, `+0 ask ${B}`]);
    expect(health.snapshot().map((h) => h.state)).toEqual(['failing', 'healthy']);
    expect(events().read().events).toEqual([
      expect.objectContaining({ type: 'server-error', server: A, code: 'SERVER_UNREACHABLE', sha256: obj.sha256 }),
    ]);
  });

  it('passes over a server that just failed: the next request neither connects to it nor waits for it', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const { f, health } = failover([scripted(A, clock, t, ['SERVER_CONNECT_TIMEOUT']), scripted(B, clock, t, [clean(B)])], clock);
    await clock.run(f.analyse(obj, go()));
    await clock.run(f.analyse(obj, go()));
    await clock.run(f.analyse(obj, go()));
    expect(t).toEqual([`+0 ask ${A}`, `+0 ask ${B}`, `+0 ask ${B}`, `+0 ask ${B}`]);
    // One server-error for the failure itself; the skips after it are counted in status, not logged per request.
    expect(serverEvents()).toEqual([`server-error ${A} SERVER_CONNECT_TIMEOUT`]);
    expect(health.snapshot()[0]).toMatchObject({
      state: 'failing',
      lastError: { code: 'SERVER_CONNECT_TIMEOUT' },
      skippedUntilProbe: true,
      skippedRequests: 2,
      nextProbeAt: '2026-11-22T09:00:00.750Z', // 1 s jittered to 75 % (random 0.5)
    });
  });

  it('all servers down: every round still asks each server in order, pauses double, and the first to answer is announced recovered', async () => {
    const t: string[] = [];
    const rounds: number[] = [];
    const clock = new SimClock(1);
    const a = scripted(
      A,
      clock,
      t,
      ['SERVER_CONNECT_TIMEOUT', 'SERVER_CONNECT_TIMEOUT', 'SERVER_CONNECT_TIMEOUT', clean(A)],
      ['SERVER_CONNECT_TIMEOUT'],
    );
    const b = scripted(B, clock, t, ['TLS_CERTIFICATE_REJECTED'], ['TLS_CERTIFICATE_REJECTED']);
    const { f, health } = failover([a, b], clock);
    const v = await clock.run(
      f.analyse(obj, {
        ...go(),
        onRoundFailed: (e, r) => {
          expect(e.code).toBe('ALL_SERVERS_FAILED');
          rounds.push(r);
        },
      }),
    );
    expect(v).toEqual(clean(A));
    // Probes of both servers run beside the rounds; neither stops a round from asking every server.
    expect(t).toEqual([
      `+0 ask ${A}`,
      `+0 ask ${B}`,
      `+1000 probe ${A}`,
      `+1000 probe ${B}`,
      `+1000 ask ${A}`,
      `+1000 ask ${B}`,
      `+3000 probe ${A}`,
      `+3000 probe ${B}`,
      `+3000 ask ${A}`,
      `+3000 ask ${B}`,
      `+7000 probe ${A}`,
      `+7000 probe ${B}`,
      `+7000 ask ${A}`,
    ]);
    expect(rounds).toEqual([1, 2, 3]);
    expect(serverEvents().filter((e) => e.startsWith('server-recovered'))).toEqual([`server-recovered ${A}`]);
    expect(health.snapshot().map((h) => [h.state, h.skippedUntilProbe])).toEqual([
      ['healthy', undefined],
      ['failing', true],
    ]);
  });

  it('asks a skipped server, last and before any pause, when no other server answers', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const a = scripted(A, clock, t, ['SERVER_UNREACHABLE', clean(A)], ['SERVER_UNREACHABLE']);
    const b = scripted(B, clock, t, [clean(B), 'SERVER_ERROR_503']);
    const { f } = failover([a, b], clock);
    await clock.run(f.analyse(obj, go()));
    const v = await clock.run(f.analyse(obj, go()));
    expect(v.server).toBe(A);
    expect(t).toEqual([`+0 ask ${A}`, `+0 ask ${B}`, `+0 ask ${B}`, `+0 ask ${A}`]);
    expect(serverEvents()).toEqual([`server-error ${A} SERVER_UNREACHABLE`, `server-error ${B} SERVER_ERROR`, `server-recovered ${A}`]);
  });

  it('keeps asking a server that refused one object or one credential: the next object may fare better', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const a = scripted(A, clock, t, ['SERVER_ERROR_404', 'SERVER_AUTH_FAILED', clean(A)]);
    const { f, health } = failover([a, scripted(B, clock, t, [clean(B)])], clock);
    await clock.run(f.analyse(obj, go()));
    expect(health.snapshot()[0]).toMatchObject({ state: 'failing', lastError: { code: 'SERVER_ERROR' } });
    expect(health.isSkipped(A)).toBe(false);
    await clock.run(f.analyse(obj, go()));
    await clock.run(f.analyse(obj, go()));
    expect(t).toEqual([`+0 ask ${A}`, `+0 ask ${B}`, `+0 ask ${A}`, `+0 ask ${B}`, `+0 ask ${A}`]);
    expect(serverEvents().filter((e) => e.startsWith('server-recovered'))).toEqual([]);
  });

  it('tries the next server after a server kind this version cannot speak', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const { f } = failover(
      [scripted('https://cape.example:1', clock, t, ['SERVER_KIND_UNSUPPORTED']), scripted(B, clock, t, [clean(B)])],
      clock,
    );
    await expect(clock.run(f.analyse(obj, go()))).resolves.toMatchObject({ level: 'clean' });
  });

  it('asks the server again at once after a failed analysis, and takes the verdict of the next one', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const { f } = failover([scripted(A, clock, t, ['ANALYSIS_FAILED', clean(A)]), scripted(B, clock, t, [clean(B)])], clock);
    await expect(clock.run(f.analyse(obj, go()))).resolves.toMatchObject({ level: 'clean', server: A });
    expect(t).toEqual([`+0 ask ${A}`, `+0 ask ${A}`]);
    expect(events().read().events).toEqual([
      expect.objectContaining({
        type: 'server-error',
        code: 'ANALYSIS_FAILED',
        attempts: 1,
        message: expect.stringMatching(/uploaded again/),
      }),
    ]);
  });

  it(`gives up on the job after ${MAX_ANALYSIS_ATTEMPTS} failed analyses, saying how many, without asking another server`, async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const { f } = failover([scripted(A, clock, t, ['ANALYSIS_FAILED']), scripted(B, clock, t, [clean(B)])], clock);
    await expect(clock.run(f.analyse(obj, go()))).rejects.toMatchObject({
      code: 'ANALYSIS_FAILED',
      params: { attempts: 3, maxAttempts: 3 },
      message: expect.stringMatching(/3 of at most 3 analyses failed, giving up$/),
    });
    expect(t).toEqual([`+0 ask ${A}`, `+0 ask ${A}`, `+0 ask ${A}`]);
    expect(
      events()
        .read()
        .events.map((e) => e.attempts),
    ).toEqual([1, 2, 3]);
  });

  it('counts failed analyses across servers and rounds: a server that went away in between does not reset the count', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const a = scripted(A, clock, t, ['ANALYSIS_FAILED', 'SERVER_UNREACHABLE']);
    const b = scripted(B, clock, t, ['ANALYSIS_FAILED', 'SERVER_UNREACHABLE', 'ANALYSIS_FAILED']);
    const { f } = failover([a, b], clock);
    await expect(clock.run(f.analyse(obj, go()))).rejects.toMatchObject({ code: 'ANALYSIS_FAILED', params: { attempts: 3 } });
    // A fails an analysis and is asked again, but is gone; B fails one, then is gone; after the pause both are asked
    // again in order: A is still gone, and B fails the third analysis, which ends the job.
    expect(t.filter((l) => l.includes(' ask '))).toEqual([
      `+0 ask ${A}`,
      `+0 ask ${A}`,
      `+0 ask ${B}`,
      `+0 ask ${B}`,
      `+750 ask ${A}`,
      `+750 ask ${B}`,
    ]);
    expect(serverEvents().filter((e) => e.startsWith('server-error'))).toEqual([
      `server-error ${A} ANALYSIS_FAILED`,
      `server-error ${A} SERVER_UNREACHABLE`,
      `server-error ${B} ANALYSIS_FAILED`,
      `server-error ${B} SERVER_UNREACHABLE`,
      `server-error ${A} SERVER_UNREACHABLE`,
      `server-error ${B} ANALYSIS_FAILED`,
    ]);
  });

  it('stops at once when the agent is stopping', async () => {
    const t: string[] = [];
    const clock = new SimClock();
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    const { f } = failover([scripted(A, clock, t, [clean(A)])], clock);
    await expect(clock.run(f.analyse(obj, { signal: ac.signal }))).rejects.toThrow('stopping');
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
    ['ANALYSIS_FAILED', 1, 'analyse-again'],
    ['ANALYSIS_FAILED', 2, 'analyse-again'],
    ['ANALYSIS_FAILED', 3, 'fail-job'],
    ['SERVER_ERROR', 0, 'next-server'],
    ['TLS_CERTIFICATE_REJECTED', 0, 'next-server'],
    ['TLS_CERTIFICATE_EXPIRED', 0, 'next-server'],
    ['TLS_HOSTNAME_MISMATCH', 0, 'next-server'],
    ['SERVER_KIND_UNSUPPORTED', 0, 'next-server'],
    ['SERVER_RESPONSE_INVALID', 0, 'next-server'],
  ] as const)('%s after %s failed analyses → %s', (code, failed, decision) => {
    expect(failoverDecision(code, failed)).toBe(decision);
  });

  it.each([
    ['SERVER_UNREACHABLE', undefined, true],
    ['SERVER_CONNECT_TIMEOUT', undefined, true],
    ['SERVER_TIMEOUT', undefined, true],
    ['TLS_HANDSHAKE_FAILED', undefined, true],
    ['TLS_CERTIFICATE_REJECTED', undefined, true],
    ['TLS_CERTIFICATE_EXPIRED', undefined, true],
    ['TLS_HOSTNAME_MISMATCH', undefined, true],
    ['SERVER_RESPONSE_INVALID', undefined, true],
    ['SERVER_THROTTLED', 429, true],
    ['SERVER_BUSY', 503, true],
    ['SERVER_BUSY', 507, true],
    ['SERVER_ERROR', 500, true],
    ['SERVER_ERROR', 503, true],
    ['SERVER_ERROR', 400, false],
    ['SERVER_ERROR', 404, false],
    ['SERVER_AUTH_FAILED', 401, false],
    ['ANALYSIS_FAILED', undefined, false],
    ['SERVER_KIND_UNSUPPORTED', undefined, false],
  ] as const)('%s (HTTP %s) skips the server until a probe: %s', (code, status, skips) => {
    const err = new SandgateError(code as ErrorCode, 'x', status === undefined ? undefined : { params: { status } });
    expect(skipsServer(err)).toBe(skips);
  });

  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_CERTIFICATE_REJECTED'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS_CERTIFICATE_REJECTED'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'TLS_CERTIFICATE_REJECTED'],
    ['CERT_HAS_EXPIRED', 'TLS_CERTIFICATE_EXPIRED'],
    ['CERT_NOT_YET_VALID', 'TLS_CERTIFICATE_EXPIRED'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_HOSTNAME_MISMATCH'],
    ['HOSTNAME_MISMATCH', 'TLS_HOSTNAME_MISMATCH'],
    ['IP_ADDRESS_MISMATCH', 'TLS_HOSTNAME_MISMATCH'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS_HANDSHAKE_FAILED'],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'TLS_HANDSHAKE_FAILED'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'TLS_HANDSHAKE_FAILED'],
    ['ECONNREFUSED', 'SERVER_UNREACHABLE'],
    ['ECONNRESET', 'SERVER_UNREACHABLE'],
  ])('network error %s is reported as %s', (code, expected) => {
    expect(networkErrorCode(Object.assign(new Error(code), { code }))).toBe(expected);
  });

  it.each([
    [401, 'SERVER_AUTH_FAILED'],
    [403, 'SERVER_AUTH_FAILED'],
    [429, 'SERVER_THROTTLED'],
    [500, 'SERVER_ERROR'],
    [404, 'SERVER_ERROR'],
  ] as const)('HTTP %s is reported as %s', (status, expected) => {
    expect(httpStatusCode(status)).toBe(expected);
  });
});
