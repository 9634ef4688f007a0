import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkTree } from '#native-host/scan/walk-tree.ts';
import { resumePoint } from '#native-host/tasks/resume-position.ts';

let root: string;
beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-resume-')));
  // Names chosen so that sorting matters: files and folders interleave, a folder sorts before files of its parent.
  const tree = ['a.txt', 'b/1', 'b/2', 'b/c/x', 'b/c/y', 'b/d/z', 'B.txt', 'c/a/b/deep', 'c/file', 'z', 'ä/é'];
  for (const p of tree) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), p);
  }
  mkdirSync(join(root, 'empty'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function walk(skipDir?: (p: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const ev of walkTree(root, skipDir ? { skipDir } : {})) if (ev.kind === 'file') out.push(ev.path);
  return out;
}

describe('resuming a walk from the last file done', () => {
  it('continues with exactly the files after the position, whichever file the walk stopped at', async () => {
    const all = await walk();
    expect(all).toHaveLength(11);
    for (let k = 0; k < all.length; k++) {
      const point = resumePoint(root, all[k]!);
      const rest = (await walk((p) => point.skipDir(p))).filter((p) => !point.fileDone(p));
      expect(rest, `stopped after ${all[k]}`).toEqual(all.slice(k + 1));
    }
  });

  it('does not enter a folder whose files were all done before the position', async () => {
    const all = await walk();
    const point = resumePoint(
      root,
      all.find((p) => p.endsWith('c/a/b/deep'))!,
    );
    const entered: string[] = [];
    await walk((p) => {
      const skip = point.skipDir(p);
      if (!skip) entered.push(p.slice(root.length + 1));
      return skip;
    });
    // b (and b/c, b/d inside it) sorts before the position's path: never listed again. The folders on the path are,
    // and those after it.
    expect(entered).not.toContain('b');
    expect(entered).toEqual(expect.arrayContaining(['c', 'c/a', 'c/a/b', 'empty', 'ä']));
  });

  it('a root that is the single file recorded is done', () => {
    const file = join(root, 'a.txt');
    expect(resumePoint(file, file).rootDone).toBe(true);
  });
});
