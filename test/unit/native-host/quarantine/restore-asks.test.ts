import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listAnswers, recordAnswer, recordAsk, recordRestoreOutcome, restoreAsksFile } from '#native-host/quarantine/restore-asks.ts';

const SHA = 'ab'.repeat(32);
const q = (n: number) => n.toString(16).padStart(32, '0');

// What the person asked an administrator to restore, and what became of it (issue 17): the file the popup's answers
// come from, written by the browser's requests and the console's messages in one agent process.
describe('restore asks and their answers', () => {
  const homes: string[] = [];
  const home = () => {
    const h = mkdtempSync(join(tmpdir(), 'sandgate-asks-'));
    homes.push(h);
    return h;
  };
  afterEach(() => {
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
  });

  it('asked, declined with a reason, asked again (waiting anew), approved and restored', async () => {
    const h = home();
    await recordAsk(h, { quarantineId: q(1), sha256: SHA, browser: 'chromium', at: new Date() });
    expect(listAnswers(h, 'chromium')).toEqual([expect.objectContaining({ quarantineId: q(1), state: 'requested' })]);
    await recordAnswer(h, {
      quarantineId: q(1),
      sha256: SHA,
      decision: 'declined',
      reason: 'really malware',
      at: new Date().toISOString(),
    });
    expect(listAnswers(h, 'chromium')[0]).toMatchObject({ state: 'declined', reason: 'really malware' });
    await recordAsk(h, { quarantineId: q(1), sha256: SHA, browser: 'chromium', at: new Date() });
    expect(listAnswers(h, 'chromium')[0]).toMatchObject({ state: 'requested' });
    await recordAnswer(h, { quarantineId: q(1), sha256: SHA, decision: 'approved', at: new Date().toISOString() });
    expect(listAnswers(h, 'chromium')[0]).toMatchObject({ state: 'approved' });
    await recordRestoreOutcome(h, { quarantineId: q(1), outcome: 'restored', path: '/d/x.exe', at: new Date() });
    expect(listAnswers(h, 'chromium')[0]).toMatchObject({ state: 'restored', path: '/d/x.exe' });
    // Another browser family's person sees none of it.
    expect(listAnswers(h, 'firefox')).toEqual([]);
  });

  it('an approved restore the workstation refused is "refused" with its code, never "restored"', async () => {
    const h = home();
    await recordAsk(h, { quarantineId: q(2), sha256: SHA, browser: 'chromium', at: new Date() });
    await recordAnswer(h, { quarantineId: q(2), sha256: SHA, decision: 'approved', at: new Date().toISOString() });
    await recordRestoreOutcome(h, {
      quarantineId: q(2),
      outcome: 'refused',
      code: 'RESTORE_TARGET_EXISTS',
      message: 'a file is there',
      at: new Date(),
    });
    expect(listAnswers(h)).toEqual([
      expect.objectContaining({ state: 'refused', code: 'RESTORE_TARGET_EXISTS', message: 'a file is there' }),
    ]);
  });

  it('a console restore of an item nobody asked about is not recorded', async () => {
    const h = home();
    await recordRestoreOutcome(h, { quarantineId: q(3), outcome: 'restored', path: '/d/y.exe', at: new Date() });
    expect(listAnswers(h)).toEqual([]);
  });

  it('asks arriving together are all kept (one write after the other), at most 200', async () => {
    const h = home();
    await Promise.all(Array.from({ length: 40 }, (_, i) => recordAsk(h, { quarantineId: q(100 + i), sha256: SHA, at: new Date() })));
    expect(listAnswers(h)).toHaveLength(40);
    for (let i = 0; i < 180; i++) await recordAsk(h, { quarantineId: q(1000 + i), sha256: SHA, at: new Date() });
    expect(listAnswers(h)).toHaveLength(200);
  });

  it("a damaged file is started afresh rather than failing the person's request", async () => {
    const h = home();
    writeFileSync(restoreAsksFile(h), '{not json');
    expect(listAnswers(h)).toEqual([]);
    await recordAsk(h, { quarantineId: q(4), sha256: SHA, at: new Date() });
    expect(listAnswers(h)).toHaveLength(1);
  });
});
