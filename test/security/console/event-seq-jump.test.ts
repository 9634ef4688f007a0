import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollFor } from '#test-helpers/stack.ts';
import type { Workstation } from '../../integration/console/console-process.ts';
import { asWorkstation, startAttackConsole } from './console-fixture.ts';

interface StoredEvent {
  seq: number;
  type: string;
  event: { path?: string; threat?: string };
}

// Event sequence numbers are byte offsets in the workstation's append-only log, and the console stores each (agent,
// seq) once. A workstation that pushes its sequence far ahead (to 1,000,000) would claim offsets its real log has not
// reached: when it gets there, those real events would be taken for ones already stored.
describe('a workstation pushes its event sequence ahead of what the console stored', () => {
  let c: Awaited<ReturnType<typeof startAttackConsole>>;
  let w: Workstation;

  const stored = async (): Promise<StoredEvent[]> => (await c.admin('GET', `agents/${w.agentId}/events?limit=1000`)).body.events;

  beforeAll(async () => {
    c = await startAttackConsole();
    w = await c.workstation('office');
    await pollFor("the workstation's first events at the console", async () => ((await stored()).length ? true : undefined));
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  it('is refused with CONSOLE_EVENT_SEQ_AHEAD, stores nothing, and leaves the real log to arrive in full', async () => {
    const jump = await asWorkstation(c.consoleProcess, c.ca, w).postEvents([
      {
        seq: 1_000_000,
        event: {
          time: new Date().toISOString(),
          type: 'verdict',
          level: 'malicious',
          sha256: 'f'.repeat(64),
          path: '/forged/far-ahead.exe',
          threat: 'Forged',
        },
      },
    ]);
    expect(jump.status).toBe(409);
    expect(jump.body.error).toMatchObject({ code: 'CONSOLE_EVENT_SEQ_AHEAD', params: { expected: expect.any(Number) } });
    expect((await stored()).filter((e) => e.seq === 1_000_000)).toEqual([]);

    // The workstation goes on with its real work: its next events are all stored, after the ones before.
    const file = join(w.downloads, 'real.com');
    writeFileSync(file, 'an ordinary download\n');
    const r = await w.sandgate(['submit', file, '--wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const verdict = await pollFor('the real verdict at the console', async () =>
      (await stored()).find((e) => e.type === 'verdict' && e.event.path === file),
    );
    expect(verdict.seq).toBeLessThan(1_000_000);
    const local = w.events().length;
    const all = await pollFor('every event of the log at the console', async () => {
      const s = await stored();
      return s.length >= local ? s : undefined;
    });
    expect(all.filter((e) => e.event.path === '/forged/far-ahead.exe')).toEqual([]);
  });
});
