import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShippedEvent } from '@sandgate/shared';
import { EventLog } from '#native-host/events/event-log.ts';
import { lineBytes } from '#console/agents/event-cursor.ts';
import { pollFor } from '#test-helpers/stack.ts';
import type { Workstation } from '../../integration/console/console-process.ts';
import { asWorkstation, startAttackConsole } from './console-fixture.ts';

/** `n` events as consecutive lines of a log from byte `start` (what a well-formed batch looks like). */
function batch(start: number, n: number, tag: string): { events: ShippedEvent[]; end: number } {
  const events: ShippedEvent[] = [];
  let seq = start;
  for (let i = 0; i < n; i++) {
    const e: ShippedEvent = { seq, event: { time: new Date().toISOString(), type: 'object-accepted', message: `${tag} ${seq}` } };
    events.push(e);
    seq += lineBytes(e) + 1;
  }
  return { events, end: seq };
}

// Small limits so the flood is quick to show: 500 events at once (one full batch), then 100 a second.
const LIMITS = { limits: { events: { perMinute: 6000, burst: 500 } } };

describe('a workstation floods the console with events', () => {
  let c: Awaited<ReturnType<typeof startAttackConsole>>;
  let rogue: Workstation;
  let honest: Workstation;

  const storedOf = async (w: Workstation): Promise<Array<{ event: { message?: string } }>> =>
    (await c.admin('GET', `agents/${w.agentId}/events?limit=1000`)).body.events;

  beforeAll(async () => {
    c = await startAttackConsole({ config: LIMITS });
    rogue = await c.workstation('office', false);
    honest = await c.workstation('office', false);
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  it('is refused with CONSOLE_AGENT_RATE_LIMITED and a time to come back once past its share; the console stores no more', async () => {
    const as = asWorkstation(c.consoleProcess, c.ca, rogue);
    let at = 0;
    const answers: Array<{ status: number; code?: string; retryAfter?: string | string[] | undefined }> = [];
    for (let i = 0; i < 6; i++) {
      const b = batch(at, 500, 'flood');
      const r = await as.postEvents(b.events);
      answers.push({ status: r.status, code: r.body?.error?.code, retryAfter: r.headers['retry-after'] });
      if (r.status === 200) at = b.end;
    }
    expect(answers[0]).toMatchObject({ status: 200 });
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect(a.code).toBe('CONSOLE_AGENT_RATE_LIMITED');
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const flood = (await storedOf(rogue)).filter((e) => e.event.message?.startsWith('flood '));
    expect(flood.length).toBe(500 * answers.filter((a) => a.status === 200).length);
    expect(flood.length).toBeLessThan(3000);
  });

  it('an honest workstation with a long backlog is slowed by the same limit and loses nothing', async () => {
    const log = new EventLog(honest.paths.events);
    for (let i = 0; i < 900; i++) log.append({ type: 'object-accepted', message: `backlog ${i}` });
    await honest.startAgent();
    const all = await pollFor(
      'the whole backlog at the console',
      async () => {
        const got = (await storedOf(honest)).filter((e) => e.event.message?.startsWith('backlog '));
        return got.length === 900 ? got : undefined;
      },
      60_000,
    );
    expect(new Set(all.map((e) => e.event.message)).size).toBe(900);
    // It was held back on the way (the console says so), and came back by itself.
    expect(c.consoleProcess.stderr()).toContain(`events of agent ${honest.agentId} refused: CONSOLE_AGENT_RATE_LIMITED`);
  });
});
