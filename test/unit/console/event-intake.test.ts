import { describe, expect, it } from 'vitest';
import { EVENT_SEQ_SKIP_BYTES, type ShippedEvent } from '@sandgate/shared';
import { lineBytes, planBatch } from '#console/agents/event-cursor.ts';
import { EventRateLimit } from '#console/agents/event-rate-limit.ts';
import { openPgliteDb } from '#console/db/pglite-db.ts';
import { migrate } from '#console/db/migrate.ts';

/** Events as an agent's log holds them: each line right after the one before, from `start`. */
function log(start: number, n: number): ShippedEvent[] {
  const out: ShippedEvent[] = [];
  let seq = start;
  for (let i = 0; i < n; i++) {
    const e: ShippedEvent = { seq, event: { time: '2026-11-22T10:00:00.000Z', type: 'object-accepted', message: `event ${i}` } };
    out.push(e);
    seq += lineBytes(e) + 1;
  }
  return out;
}

describe("the console's event cursor for one workstation", () => {
  it('takes a log in order and moves past the last line stored', () => {
    const events = log(0, 3);
    const last = events[2]!;
    expect(planBatch(0, events)).toEqual({ fresh: events, duplicates: 0, cursor: last.seq + lineBytes(last) + 1 });
  });

  it('stores nothing twice when a batch comes again after a lost answer, and takes what follows it', () => {
    const events = log(0, 4);
    const first = planBatch(0, events.slice(0, 2));
    const again = planBatch(first.cursor, events);
    expect(again.duplicates).toBe(2);
    expect(again.fresh).toEqual(events.slice(2));
  });

  it('lets a batch skip a few unreadable lines (a torn line after a crash)', () => {
    const [e] = log(300, 1);
    expect(planBatch(0, [e!]).fresh).toEqual([e]);
  });

  it('refuses a sequence number pushed far past what was stored, and names the cursor to send from', () => {
    const jump: ShippedEvent = {
      seq: 1_000_000,
      event: { time: '2026-11-22T10:00:00.000Z', type: 'verdict', level: 'malicious', sha256: 'a'.repeat(64) },
    };
    expect(() => planBatch(42, [jump])).toThrow(
      expect.objectContaining({ code: 'CONSOLE_EVENT_SEQ_AHEAD', params: expect.objectContaining({ expected: 42 }) }),
    );
    // Nor in small steps inside one batch: what a batch may skip is counted in all.
    const steps = log(0, 20).map((e, i) => ({ ...e, seq: e.seq + i * (EVENT_SEQ_SKIP_BYTES / 10) }));
    expect(() => planBatch(0, steps)).toThrow(expect.objectContaining({ code: 'CONSOLE_EVENT_SEQ_AHEAD' }));
  });

  it('refuses sequence numbers that do not increase', () => {
    const [a, b] = log(0, 2);
    expect(() => planBatch(0, [b!, a!])).toThrow(expect.objectContaining({ code: 'CONSOLE_EVENT_SEQ_INVALID' }));
    expect(() => planBatch(0, [a!, a!])).toThrow(expect.objectContaining({ code: 'CONSOLE_EVENT_SEQ_INVALID' }));
  });
});

describe("the console's per-workstation event limits", () => {
  const limits = { events: { perMinute: 600, burst: 1000 }, eventBytes: { perMinute: 1_000_000, burst: 5_000_000 } };

  it('takes a burst, then refuses with the time to wait, and takes again once refilled', async () => {
    let now = 0;
    const rl = new EventRateLimit(limits, { now: () => now });
    await rl.take('a', 1000, 1000);
    await expect(rl.take('a', 500, 500)).rejects.toMatchObject({ code: 'CONSOLE_AGENT_RATE_LIMITED', params: { retryAfterSeconds: 50 } });
    // Another workstation has its own bucket.
    await rl.take('b', 1000, 1000);
    now += 50_000;
    await rl.take('a', 500, 500);
  });

  it('tells the log of a flooding workstation at most once a minute', async () => {
    let now = 0;
    const heard: string[] = [];
    const rl = new EventRateLimit(limits, { now: () => now, onRefused: (id) => heard.push(id) });
    await rl.take('a', 1000, 0);
    for (let i = 0; i < 5; i++) await expect(rl.take('a', 1000, 0)).rejects.toThrow();
    expect(heard).toEqual(['a']);
    now += 60_000;
    await rl.take('a', 600, 0);
    await expect(rl.take('a', 1000, 0)).rejects.toThrow();
    expect(heard).toEqual(['a', 'a']);
  });

  it('counts bytes as well as events', async () => {
    const rl = new EventRateLimit(limits, { now: () => 0 });
    await rl.take('a', 10, 5_000_000);
    await expect(rl.take('a', 1, 1_000_000)).rejects.toEqual(
      expect.objectContaining({ code: 'CONSOLE_AGENT_RATE_LIMITED', params: expect.objectContaining({ retryAfterSeconds: 60 }) }),
    );
  });

  it('two console processes on one database give a workstation one bucket, not one each', async () => {
    const db = await openPgliteDb(undefined);
    try {
      await migrate(db);
      await db.query(
        `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after) VALUES ('w', 'h', 's', 'x', now() + interval '1 day')`,
      );
      const heard: string[] = [];
      const first = new EventRateLimit(limits, { shared: db, onRefused: (id) => heard.push(`first:${id}`) });
      const second = new EventRateLimit(limits, { shared: db, onRefused: (id) => heard.push(`second:${id}`) });
      await first.take('w', 800, 0);
      // The second process sees what the first took: 200 left of the burst, whatever process is asked.
      await expect(second.take('w', 800, 0)).rejects.toMatchObject({ code: 'CONSOLE_AGENT_RATE_LIMITED' });
      await expect(first.take('w', 800, 0)).rejects.toMatchObject({ code: 'CONSOLE_AGENT_RATE_LIMITED' });
      await second.take('w', 150, 0);
      // The refusal was told once for the workstation, by whichever process refused first.
      expect(heard).toEqual(['second:w']);
    } finally {
      await db.close();
    }
  }, 60_000);
});
