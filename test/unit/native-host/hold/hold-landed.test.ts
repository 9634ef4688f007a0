import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HELD_SUFFIX, SandgateError } from '@sandgate/shared';
import { holdLanded, type HoldLandedOptions } from '#native-host/hold/hold-landed.ts';
import { HoldLedger } from '#native-host/hold/hold-ledger.ts';
import { withHeldReadable } from '#native-host/hold/held-mode.ts';
import { releaseHeld } from '#native-host/hold/release-held.ts';

// Firefox cannot name a download before it lands: the agent holds it in place (`hold-landed`). The tests run as
// whatever user runs them; root can open a mode-000 file anyway, so "cannot be opened" is asserted on the mode bits.

let dir: string;
let ledgerDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-hold-landed-'));
  ledgerDir = mkdtempSync(join(tmpdir(), 'sandgate-holds-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(ledgerDir, { recursive: true, force: true });
});

const ledger = () => new HoldLedger(ledgerDir);
const hold = (path: string, opts: Partial<HoldLandedOptions> = {}) => holdLanded(path, { ledger: ledger(), ...opts });

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof SandgateError ? e.code : String(e)),
  );
const modeOf = (p: string) => lstatSync(p).mode & 0o7777;

describe('holding a download that has landed', () => {
  it('takes away every permission bit and the final name, and a clean release gives both back byte-identical', async () => {
    const body = Buffer.from('MZ landed in Firefox');
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, body);
    chmodSync(landed, 0o754);

    const held = await hold(landed);
    expect(held).toEqual({ path: `${landed}${HELD_SUFFIX}`, mode: 0o754, again: false });
    // The agent keeps the bits itself: the release gives back what it recorded, never what a caller names.
    expect((await ledger().find(held.path))?.mode).toBe(0o754);
    expect(existsSync(landed)).toBe(false);
    expect(modeOf(held.path)).toBe(0);

    const { path } = await releaseHeld(held.path, sha(body), { mode: held.mode });
    expect(path).toBe(landed);
    expect(readFileSync(landed).equals(body)).toBe(true);
    expect(modeOf(landed)).toBe(0o754);
    expect(existsSync(held.path)).toBe(false);
  });

  it('a release whose content no longer matches leaves it held and locked', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ one');
    const held = await hold(landed);
    expect(await code(releaseHeld(held.path, sha(Buffer.from('MZ other')), { mode: held.mode }))).toBe('ORIGINAL_CHANGED');
    expect(modeOf(held.path)).toBe(0);
    expect(existsSync(landed)).toBe(false);
  });

  it('never follows a link planted under the download name', async () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'not a download');
    chmodSync(target, 0o644);
    symlinkSync(target, join(dir, 'setup.exe'));
    expect(await code(hold(join(dir, 'setup.exe')))).toBe('PATH_IS_LINK');
    expect(modeOf(target)).toBe(0o644);
    expect(lstatSync(join(dir, 'setup.exe')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, `setup.exe${HELD_SUFFIX}`))).toBe(false);
  });

  it('refuses a download folder reached through a link', async () => {
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'setup.exe'), 'MZ');
    symlinkSync(join(dir, 'real'), join(dir, 'via'));
    expect(await code(hold(join(dir, 'via', 'setup.exe')))).toBe('PATH_IS_LINK');
    expect(modeOf(join(dir, 'real', 'setup.exe'))).not.toBe(0);
  });

  it.runIf(process.getuid?.() === 0)('refuses a file that belongs to another user, and leaves it exactly as it was', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ someone else');
    chmodSync(landed, 0o640);
    chownSync(landed, 65534, 65534);
    expect(await code(hold(landed))).toBe('FILE_NOT_OWNED');
    expect(modeOf(landed)).toBe(0o640);
    expect(existsSync(`${landed}${HELD_SUFFIX}`)).toBe(false);
  });

  it('refuses a file with a second name (it would stay openable there) and a folder', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    linkSync(landed, join(dir, 'copy.exe'));
    expect(await code(hold(landed))).toBe('FILE_NOT_REGULAR');
    expect(modeOf(landed)).not.toBe(0);
    mkdirSync(join(dir, 'folder.exe'));
    expect(await code(hold(join(dir, 'folder.exe')))).toBe('FILE_NOT_REGULAR');
  });

  it('a held file of the same name already waiting is not touched: the new one gets the next held name', async () => {
    writeFileSync(join(dir, `setup.exe${HELD_SUFFIX}`), 'earlier');
    writeFileSync(join(dir, 'setup.exe'), 'MZ later');
    const held = await hold(join(dir, 'setup.exe'));
    expect(held.path).toBe(join(dir, `setup (1).exe${HELD_SUFFIX}`));
    expect(readFileSync(join(dir, `setup.exe${HELD_SUFFIX}`), 'utf8')).toBe('earlier');
  });

  it('a failure after the lock puts the permission bits back and leaves the file where it landed', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    chmodSync(landed, 0o600);
    const failing = hold(landed, {
      beforeRename: () => {
        expect(modeOf(landed)).toBe(0);
        throw new SandgateError('INTERNAL', 'disk trouble');
      },
    });
    expect(await code(failing)).toBe('INTERNAL');
    expect(modeOf(landed)).toBe(0o600);
    expect(existsSync(`${landed}${HELD_SUFFIX}`)).toBe(false);
    expect(await ledger().reconcile()).toEqual({ finished: 0, undone: 0, dropped: 0 });
  });

  it('asked again for a download it already holds for the same browser, it answers with that hold', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    chmodSync(landed, 0o640);
    const first = await hold(landed, { caller: 'firefox:agent@sandgate.org' });
    expect(await hold(landed, { caller: 'firefox:agent@sandgate.org' })).toEqual({ ...first, again: true });
    // another browser does not get to claim it
    expect(await code(hold(landed, { caller: 'chromium:' + 'a'.repeat(32) }))).toBe('FILE_NOT_FOUND');
  });
});

describe('a hold cut short by a crash', () => {
  it('locked but not yet moved: the next start gives the file its permission bits back where it landed', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    chmodSync(landed, 0o640);
    const st = lstatSync(landed);
    // What a kill right after the lock leaves: the record, and the file locked under its landed name.
    await ledger().put({
      format: 1,
      landedPath: landed,
      heldPath: `${landed}${HELD_SUFFIX}`,
      mode: 0o640,
      dev: st.dev,
      ino: st.ino,
      heldAt: new Date().toISOString(),
    });
    chmodSync(landed, 0);
    expect(await ledger().reconcile()).toEqual({ finished: 0, undone: 1, dropped: 0 });
    expect(modeOf(landed)).toBe(0o640);
    expect(await ledger().find(`${landed}${HELD_SUFFIX}`)).toBeUndefined();
  });

  it('linked under its held name but the landed name not removed yet: the next start finishes the hold', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    chmodSync(landed, 0o640);
    const st = lstatSync(landed);
    await ledger().put({
      format: 1,
      landedPath: landed,
      heldPath: `${landed}${HELD_SUFFIX}`,
      mode: 0o640,
      dev: st.dev,
      ino: st.ino,
      heldAt: new Date().toISOString(),
    });
    chmodSync(landed, 0);
    linkSync(landed, `${landed}${HELD_SUFFIX}`);
    expect(await ledger().reconcile()).toEqual({ finished: 1, undone: 0, dropped: 0 });
    expect(existsSync(landed)).toBe(false);
    expect((await ledger().find(`${landed}${HELD_SUFFIX}`))?.mode).toBe(0o640);
  });
});

describe('reading a held file by name (the queue copy, the quarantine)', () => {
  it('is readable by its owner only during the call, and locked again after', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    const held = await hold(landed);
    const during = await withHeldReadable(held.path, async () => modeOf(held.path));
    expect(during).toBe(0o400);
    expect(modeOf(held.path)).toBe(0);
  });

  it('a file that is not held is never touched', async () => {
    const plain = join(dir, 'report.pdf');
    writeFileSync(plain, '%PDF');
    chmodSync(plain, 0);
    expect(await withHeldReadable(plain, async () => modeOf(plain))).toBe(0);
    expect(statSync(plain).mode & 0o777).toBe(0);
  });
});
