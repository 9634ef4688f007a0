import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HELD_SUFFIX, SandgateError } from '@sandgate/shared';
import { holdLanded } from '../../../../native-host/src/hold/hold-landed.ts';
import { withHeldReadable } from '../../../../native-host/src/hold/held-mode.ts';
import { releaseHeld } from '../../../../native-host/src/hold/release-held.ts';

// Firefox cannot name a download before it lands: the agent holds it in place (`hold-landed`). The tests run as
// whatever user runs them; root can open a mode-000 file anyway, so "cannot be opened" is asserted on the mode bits.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-hold-landed-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const code = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof SandgateError ? e.code : String(e)));
const modeOf = (p: string) => lstatSync(p).mode & 0o7777;

describe('holding a download that has landed', () => {
  it('takes away every permission bit and the final name, and a clean release gives both back byte-identical', async () => {
    const body = Buffer.from('MZ landed in Firefox');
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, body);
    chmodSync(landed, 0o754);

    const held = await holdLanded(landed);
    expect(held).toEqual({ path: `${landed}${HELD_SUFFIX}`, mode: 0o754 });
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
    const held = await holdLanded(landed);
    expect(await code(releaseHeld(held.path, sha(Buffer.from('MZ other')), { mode: held.mode }))).toBe('ORIGINAL_CHANGED');
    expect(modeOf(held.path)).toBe(0);
    expect(existsSync(landed)).toBe(false);
  });

  it('never follows a link planted under the download name', async () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'not a download');
    chmodSync(target, 0o644);
    symlinkSync(target, join(dir, 'setup.exe'));
    expect(await code(holdLanded(join(dir, 'setup.exe')))).toBe('PATH_IS_LINK');
    expect(modeOf(target)).toBe(0o644);
    expect(lstatSync(join(dir, 'setup.exe')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, `setup.exe${HELD_SUFFIX}`))).toBe(false);
  });

  it('refuses a download folder reached through a link', async () => {
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'setup.exe'), 'MZ');
    symlinkSync(join(dir, 'real'), join(dir, 'via'));
    expect(await code(holdLanded(join(dir, 'via', 'setup.exe')))).toBe('PATH_IS_LINK');
    expect(modeOf(join(dir, 'real', 'setup.exe'))).not.toBe(0);
  });

  it.runIf(process.getuid?.() === 0)('refuses a file that belongs to another user, and leaves it exactly as it was', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ someone else');
    chmodSync(landed, 0o640);
    chownSync(landed, 65534, 65534);
    expect(await code(holdLanded(landed))).toBe('FILE_NOT_OWNED');
    expect(modeOf(landed)).toBe(0o640);
    expect(existsSync(`${landed}${HELD_SUFFIX}`)).toBe(false);
  });

  it('refuses a file with a second name (it would stay openable there) and a folder', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    linkSync(landed, join(dir, 'copy.exe'));
    expect(await code(holdLanded(landed))).toBe('FILE_NOT_REGULAR');
    expect(modeOf(landed)).not.toBe(0);
    mkdirSync(join(dir, 'folder.exe'));
    expect(await code(holdLanded(join(dir, 'folder.exe')))).toBe('FILE_NOT_REGULAR');
  });

  it('a held file of the same name already waiting is not touched: the new one gets the next held name', async () => {
    writeFileSync(join(dir, `setup.exe${HELD_SUFFIX}`), 'earlier');
    writeFileSync(join(dir, 'setup.exe'), 'MZ later');
    const held = await holdLanded(join(dir, 'setup.exe'));
    expect(held.path).toBe(join(dir, `setup (1).exe${HELD_SUFFIX}`));
    expect(readFileSync(join(dir, `setup.exe${HELD_SUFFIX}`), 'utf8')).toBe('earlier');
  });

  it('a failure after the lock puts the permission bits back and leaves the file where it landed', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    chmodSync(landed, 0o600);
    const failing = holdLanded(landed, {
      beforeRename: () => {
        expect(modeOf(landed)).toBe(0);
        throw new SandgateError('INTERNAL', 'disk trouble');
      },
    });
    expect(await code(failing)).toBe('INTERNAL');
    expect(modeOf(landed)).toBe(0o600);
    expect(existsSync(`${landed}${HELD_SUFFIX}`)).toBe(false);
  });
});

describe('reading a held file by name (the queue copy, the quarantine)', () => {
  it('is readable by its owner only during the call, and locked again after', async () => {
    const landed = join(dir, 'setup.exe');
    writeFileSync(landed, 'MZ');
    const held = await holdLanded(landed);
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
