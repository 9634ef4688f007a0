import { basename, dirname, join, relative, sep } from 'node:path';

/** Where a walk stopped: the index of the root being walked and the last file whose check finished. */
export interface WalkPosition {
  rootIndex: number;
  lastPath?: string | undefined;
}

export interface ResumePoint {
  /** The whole root was done (it was a single file, the one recorded). */
  rootDone: boolean;
  /** A folder whose every file comes before the position in walk order: not entered at all. */
  skipDir(path: string): boolean;
  /** A file the walk meets again on the way to the position (in a folder on the path to it): already checked. */
  fileDone(path: string): boolean;
}

/**
 * Resuming a walk without reading anything twice. `walkTree` visits a folder's files in name order, then its
 * subfolders in name order, each one whole before the next. So for the last file done, `root/a/b/f`: every file of
 * `root` and of `root/a` is done, `root/a/b`'s files up to `f` are done, and every subfolder that sorts before the next
 * step of the path (`root/x` with `x < a`, `root/a/y` with `y < b`) is done whole. Nothing else is. The folders on
 * the path are listed again (their entries stat'ed), nothing more.
 */
export function resumePoint(root: string, lastPath: string): ResumePoint {
  if (lastPath === root) return { rootDone: true, skipDir: () => true, fileDone: () => true };
  const parts = relative(root, lastPath).split(sep);
  // Each folder on the path to the last file → the name of the next step inside it.
  const onPath = new Map<string, string>();
  let dir = root;
  for (let i = 0; i < parts.length - 1; i++) {
    onPath.set(dir, parts[i]!);
    dir = join(dir, parts[i]!);
  }
  const lastDir = dir;
  const lastName = parts.at(-1)!;
  return {
    rootDone: false,
    skipDir(path) {
      const next = onPath.get(dirname(path));
      return next !== undefined && basename(path) < next;
    },
    fileDone(path) {
      const parent = dirname(path);
      if (onPath.has(parent)) return true;
      return parent === lastDir && basename(path) <= lastName;
    },
  };
}
