import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walkTree, type WalkEvent } from '#native-host/scan/walk-tree.ts';
import { MountTable } from '#native-host/scan/mount-table.ts';

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-walk-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function collect(path: string, opts = {}): Promise<WalkEvent[]> {
  const out: WalkEvent[] = [];
  for await (const e of walkTree(path, opts)) out.push(e);
  return out;
}

describe('walking a tree', () => {
  it('lists regular files with their size and never follows a symbolic link, to a file or into a folder', async () => {
    mkdirSync(join(root, 'a/b'), { recursive: true });
    writeFileSync(join(root, 'a/one.txt'), 'one');
    writeFileSync(join(root, 'a/b/two.bin'), Buffer.alloc(2048));
    const outside = realpathSync(mkdtempSync(join(tmpdir(), 'sg-walk-outside-')));
    writeFileSync(join(outside, 'secret.txt'), 'not to be reached');
    try {
      symlinkSync(outside, join(root, 'a/link-to-dir'));
      symlinkSync(join(outside, 'secret.txt'), join(root, 'a/link-to-file'));
      symlinkSync(root, join(root, 'a/b/loop'));
      const events = await collect(root);
      const files = events.filter((e) => e.kind === 'file').map((e) => [e.path.slice(root.length), e.kind === 'file' ? e.stat.size : 0]);
      expect(files.sort()).toEqual([
        ['/a/b/two.bin', 2048],
        ['/a/one.txt', 3],
      ]);
      expect(
        events
          .filter((e) => e.kind === 'link')
          .map((e) => e.path.slice(root.length))
          .sort(),
      ).toEqual(['/a/b/loop', '/a/link-to-dir', '/a/link-to-file']);
      expect(JSON.stringify(events)).not.toContain('secret.txt');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('does not follow a root that is itself a link', async () => {
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real/f'), 'x');
    symlinkSync(join(root, 'real'), join(root, 'alias'));
    expect(await collect(join(root, 'alias'))).toEqual([{ kind: 'link', path: join(root, 'alias') }]);
  });

  it('skips FIFOs instead of opening them (a scan must not block on one)', async () => {
    execFileSync('mkfifo', [join(root, 'pipe')]);
    writeFileSync(join(root, 'file'), 'x');
    expect((await collect(root)).map((e) => e.path.slice(root.length))).toEqual(['/file']);
  });

  it('stays on one filesystem: a mount point below the root is reported, not entered', async () => {
    // /dev is devtmpfs; /dev/shm (tmpfs) and /dev/pts (devpts) are other filesystems mounted inside it.
    const mounts = MountTable.read();
    const events = await collect('/dev', { mounts });
    const skipped = events.filter((e) => e.kind === 'skipped-mount');
    expect(skipped.map((e) => e.path)).toEqual(expect.arrayContaining(['/dev/shm']));
    expect(events.some((e) => e.kind === 'file' && e.path.startsWith('/dev/shm/'))).toBe(false);
    const shm = skipped.find((e) => e.path === '/dev/shm');
    expect(shm).toMatchObject({ fsType: 'tmpfs', reason: expect.stringMatching(/one filesystem/) });
    // Asked to cross filesystems, it still never enters a virtual one.
    const crossing = await collect('/dev', { mounts, oneFilesystem: false });
    expect(crossing.find((e) => e.kind === 'skipped-mount' && e.path === '/dev/shm')).toMatchObject({
      reason: expect.stringMatching(/not a local disk/),
    });
  });

  it('reports an unreadable folder as an error and carries on', async () => {
    const events = await collect(join(root, 'missing'));
    expect(events).toEqual([expect.objectContaining({ kind: 'error', code: 'ENOENT' })]);
  });
});
