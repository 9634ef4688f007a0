import { describe, expect, it } from 'vitest';
import type { SandboxClient } from '#native-host/sandbox/sandbox-client.ts';
import { A, B, SimClock, clean, go, scripted, useFailovers } from './fixture.ts';
import { bytesBody } from '#native-host/queue/object-body.ts';

const bench = useFailovers('sg-prober-');
const events = () => bench.events();
const obj = { sha256: 'b'.repeat(64), body: bytesBody(Buffer.from('x')) };
const failover = (clients: SandboxClient[], clock: SimClock, extra: { probeBaseMs?: number; probeMaxMs?: number } = {}) =>
  bench.failover(clients, clock, extra);

const probes = (t: string[]) => t.filter((l) => l.includes(' probe '));
const recovered = () =>
  events()
    .read()
    .events.filter((e) => e.type === 'server-recovered');

describe('health probes of skipped servers', () => {
  it('a probe brings a skipped server back: server-recovered names it, and the next request asks it first again', async () => {
    const t: string[] = [];
    const clock = new SimClock(1);
    const a = scripted(A, clock, t, ['SERVER_UNREACHABLE', clean(A)], ['SERVER_UNREACHABLE', 'SERVER_UNREACHABLE', 'ok']);
    const { f, health } = failover([a, scripted(B, clock, t, [clean(B)])], clock);
    await clock.run(f.analyse(obj, go()));
    expect(health.snapshot()[0]).toMatchObject({ skippedUntilProbe: true, nextProbeAt: '2026-11-22T09:00:01.000Z' });

    await clock.advance(10_000);
    expect(probes(t)).toEqual([`+1000 probe ${A}`, `+3000 probe ${A}`, `+7000 probe ${A}`]);
    expect(recovered()).toEqual([expect.objectContaining({ server: A, message: expect.stringContaining('health probe') })]);
    expect(recovered()[0]!.time).toBe('2026-11-22T09:00:07.000Z');
    expect(health.snapshot()[0]).toEqual({
      url: A,
      kind: 'sandgate',
      state: 'healthy',
      lastError: expect.anything(),
      lastSuccessAt: '2026-11-22T09:00:07.000Z',
    });

    const v = await clock.run(f.analyse(obj, go()));
    expect(v.server).toBe(A);
    expect(t.at(-1)).toBe(`+10000 ask ${A}`);
    // Healthy servers are not probed.
    await clock.advance(120_000);
    expect(probes(t)).toHaveLength(3);
  });

  it('a failed probe keeps the server skipped and shows the latest reason', async () => {
    const t: string[] = [];
    const clock = new SimClock(1);
    const a = scripted(A, clock, t, ['SERVER_CONNECT_TIMEOUT'], ['TLS_CERTIFICATE_EXPIRED']);
    const { f, health } = failover([a, scripted(B, clock, t, [clean(B)])], clock);
    await clock.run(f.analyse(obj, go()));
    await clock.advance(1000);
    expect(health.snapshot()[0]).toMatchObject({
      state: 'failing',
      skippedUntilProbe: true,
      lastError: { code: 'TLS_CERTIFICATE_EXPIRED', at: '2026-11-22T09:00:01.000Z' },
      nextProbeAt: '2026-11-22T09:00:03.000Z',
    });
    // Probe failures are not server-error events: a dead server would fill the log.
    expect(
      events()
        .read()
        .events.filter((e) => e.type === 'server-error'),
    ).toHaveLength(1);
  });

  it('probes a dead server after pauses that double up to the ceiling, jittered', async () => {
    for (const [random, first] of [
      [1, 1000],
      [0, 500],
    ] as const) {
      const t: string[] = [];
      const clock = new SimClock(random);
      const a = scripted(A, clock, t, ['SERVER_UNREACHABLE'], ['SERVER_UNREACHABLE']);
      const { f } = failover([a, scripted(B, clock, t, [clean(B)])], clock, { probeBaseMs: 1000, probeMaxMs: 8000 });
      await clock.run(f.analyse(obj, go()));
      await clock.advance(60_000);
      const at = probes(t).map((l) => Number(/^\+(\d+)/.exec(l)![1]));
      const gaps = at.map((x, i) => x - (at[i - 1] ?? 0));
      expect(gaps.slice(0, 6)).toEqual([1, 2, 4, 8, 8, 8].map((k) => k * first));
    }
  });

  it('a server that passes its health check but fails every request is let back less and less often', async () => {
    const t: string[] = [];
    const clock = new SimClock(1);
    const a = scripted(A, clock, t, ['SERVER_ERROR_503'], ['ok']);
    const { f } = failover([a, scripted(B, clock, t, [clean(B)])], clock);
    for (let i = 0; i < 4; i++) {
      await clock.run(f.analyse(obj, go()));
      await clock.advance(20_000);
    }
    // One failure and one recovery per cycle, the pause doubling: no flapping every second.
    expect(probes(t)).toEqual([`+1000 probe ${A}`, `+22000 probe ${A}`, `+44000 probe ${A}`, `+68000 probe ${A}`]);
    expect(recovered()).toHaveLength(4);

    // A request that really succeeds shows the server works: the next failure starts over at one second.
    a.set('analyse', [clean(A)]);
    await clock.advance(20_000);
    await clock.run(f.analyse(obj, go()));
    a.set('analyse', ['SERVER_ERROR_503']);
    await clock.run(f.analyse(obj, go()));
    const before = probes(t).length;
    await clock.advance(1000);
    expect(probes(t).slice(before)).toEqual([`+101000 probe ${A}`]);
  });

  it('a request that succeeds on a skipped server ends its probes and announces the recovery once', async () => {
    const t: string[] = [];
    const clock = new SimClock(1);
    const a = scripted(A, clock, t, ['SERVER_UNREACHABLE', clean(A)], ['SERVER_UNREACHABLE']);
    const b = scripted(B, clock, t, [clean(B), 'SERVER_UNREACHABLE'], ['SERVER_UNREACHABLE']);
    const { f, health } = failover([a, b], clock);
    await clock.run(f.analyse(obj, go()));
    await clock.run(f.analyse(obj, go())); // b fails, a is asked anyway and answers
    expect(recovered()).toEqual([expect.objectContaining({ server: A, message: expect.stringContaining('answered a request') })]);
    expect(health.isSkipped(A)).toBe(false);
    await clock.advance(5000);
    expect(probes(t)).toEqual([`+1000 probe ${B}`, `+3000 probe ${B}`]);
  });

  it('stops probing when the agent stops', async () => {
    const t: string[] = [];
    const clock = new SimClock(1);
    const { f } = failover(
      [scripted(A, clock, t, ['SERVER_UNREACHABLE'], ['SERVER_UNREACHABLE']), scripted(B, clock, t, [clean(B)])],
      clock,
    );
    await clock.run(f.analyse(obj, go()));
    f.close();
    await clock.advance(120_000);
    expect(probes(t)).toEqual([]);
  });
});
