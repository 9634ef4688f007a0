import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The real-world IOC corpora live beside the repository in ../shared/data (PRODUCT.md: read them, never copy them
// in). In a git worktree (/work/wt/<branch>) "beside the repository" is beside the main checkout, found through .git.
const REPO = join(import.meta.dirname, '../..');

function candidates(sub: string): string[] {
  const dirs = [join(REPO, '..', 'shared/data', sub)];
  try {
    const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(REPO, '.git'), 'utf8'))?.[1];
    if (gitdir) dirs.push(join(gitdir.trim(), '../../../..', 'shared/data', sub));
  } catch {
    // a plain checkout: .git is a folder
  }
  return dirs;
}

/** `../shared/data/<sub>` when present, with the reason a test skips otherwise. */
export function sharedData(sub: string): { dir: string; exists: boolean; skipReason: string } {
  const all = candidates(sub);
  const dir = all.find((d) => existsSync(d)) ?? all[0]!;
  const exists = existsSync(dir);
  return { dir, exists, skipReason: `skipped: ../shared/data/${sub} not present (looked in ${all.join(', ')})` };
}
