import { chownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSubmittedFile } from '#native-host/queue/open-submitted-file.ts';

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sg-open-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function codeOf(path: string): Promise<string> {
  try {
    const f = await openSubmittedFile(path);
    await f.handle.close();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('opening a submitted download', () => {
  it('opens a regular file the user owns and reports its size', async () => {
    const p = join(dir, 'setup.exe');
    writeFileSync(p, 'hello');
    const f = await openSubmittedFile(p);
    expect(f.size).toBe(5);
    await f.handle.close();
  });

  it.each([
    ['relative', 'Downloads/setup.exe'],
    ['with ..', '/tmp/../etc/passwd'],
    ['with a double slash', '//etc//passwd'],
    ['with a trailing slash', '/tmp/x/'],
  ])('refuses a path that is %s (PATH_INVALID)', async (_what, p) => {
    expect(await codeOf(p)).toBe('PATH_INVALID');
  });

  it('refuses a file whose folder is reached through a symbolic link', async () => {
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'a.exe'), 'x');
    symlinkSync(join(dir, 'real'), join(dir, 'Downloads'));
    expect(await codeOf(join(dir, 'Downloads', 'a.exe'))).toBe('PATH_IS_LINK');
  });

  it('refuses a symbolic link planted as the file itself, without following it', async () => {
    writeFileSync(join(dir, 'secret'), 'x');
    symlinkSync(join(dir, 'secret'), join(dir, 'a.exe'));
    expect(await codeOf(join(dir, 'a.exe'))).toBe('PATH_IS_LINK');
  });

  it('refuses a FIFO without hanging', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe.exe')]);
    expect(await codeOf(join(dir, 'pipe.exe'))).toBe('FILE_NOT_REGULAR');
  });

  it('refuses a directory', async () => {
    mkdirSync(join(dir, 'folder.exe'));
    expect(await codeOf(join(dir, 'folder.exe'))).toBe('FILE_NOT_REGULAR');
  });

  it('reports a missing file or folder as FILE_NOT_FOUND', async () => {
    expect(await codeOf(join(dir, 'nope.exe'))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(join(dir, 'no-folder', 'nope.exe'))).toBe('FILE_NOT_FOUND');
  });

  it.runIf(process.getuid?.() === 0)('refuses a file that belongs to another user', async () => {
    const p = join(dir, 'theirs.exe');
    writeFileSync(p, 'x');
    chownSync(p, 65534, 65534);
    expect(await codeOf(p)).toBe('FILE_NOT_OWNED');
  });
});
