import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { LOCAL_DISK_FS_TYPES, type MountTable } from './mount-table.ts';

export type WalkEvent =
  | { kind: 'file'; path: string; stat: Stats }
  /** A symbolic link: reported, never followed (neither to a file nor into a folder). */
  | { kind: 'link'; path: string }
  /** A folder on another filesystem that the walk did not enter, and why. */
  | { kind: 'skipped-mount'; path: string; fsType: string; reason: string }
  | { kind: 'error'; path: string; code: string; message: string };

export interface WalkOptions {
  /** Stay on the filesystem of the root (default). Otherwise enter other local on-disk filesystems too. */
  oneFilesystem?: boolean;
  /** Names the filesystem of a folder on another device; without it such folders are never entered. */
  mounts?: MountTable;
  /** Folders not to enter at all (e.g. Sandgate's own quarantine). */
  skipDir?: (path: string) => boolean;
  signal?: AbortSignal;
}

/** How many entries are stat'ed before the event loop gets a turn (reads in flight need it). */
const ENTRIES_PER_TURN = 512;

function errorEvent(path: string, err: unknown): WalkEvent {
  const e = err as NodeJS.ErrnoException;
  return { kind: 'error', path, code: e.code ?? 'EIO', message: e.message };
}

/**
 * Walks a tree depth-first and yields its regular files with their lstat. Nothing is ever resolved through a link:
 * every entry is lstat'ed, a symbolic link to a folder is not entered, and the root itself is not followed when it is a
 * link. Folders on another device are mount points: by default they are not entered (one filesystem per root); with
 * `oneFilesystem: false` only local on-disk filesystems are. FIFOs, sockets and devices are never opened, so a scan
 * cannot block on them. Stats are synchronous, one folder at a time, giving the event loop a turn every few hundred
 * entries: a promise per lstat costs a thread-pool round trip, which is most of a walk's time.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkEvent> {
  let rootStat: Stats;
  try {
    rootStat = lstatSync(root);
  } catch (err) {
    yield errorEvent(root, err);
    return;
  }
  if (rootStat.isSymbolicLink()) {
    yield { kind: 'link', path: root };
    return;
  }
  if (rootStat.isFile()) {
    yield { kind: 'file', path: root, stat: rootStat };
    return;
  }
  if (!rootStat.isDirectory()) return;

  const oneFs = opts.oneFilesystem ?? true;
  const seen = new Set<string>([`${rootStat.dev}:${rootStat.ino}`]);
  const stack: Array<{ path: string; dev: number }> = [{ path: root, dev: rootStat.dev }];
  let sinceTurn = 0;
  while (stack.length) {
    if (opts.signal?.aborted) return;
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir.path);
    } catch (err) {
      yield errorEvent(dir.path, err);
      continue;
    }
    names.sort();
    const subdirs: Array<{ path: string; dev: number }> = [];
    for (const name of names) {
      if (++sinceTurn >= ENTRIES_PER_TURN) {
        sinceTurn = 0;
        await yieldToLoop();
        if (opts.signal?.aborted) return;
      }
      const path = join(dir.path, name);
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch (err) {
        // Gone between readdir and lstat: a normal race on a live system, not worth an error.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') yield errorEvent(path, err);
        continue;
      }
      if (st.isSymbolicLink()) yield { kind: 'link', path };
      else if (st.isFile()) yield { kind: 'file', path, stat: st };
      else if (st.isDirectory()) {
        if (opts.skipDir?.(path)) continue;
        if (st.dev !== dir.dev) {
          const mount = opts.mounts?.at(path);
          const fsType = mount?.fsType ?? 'unknown';
          if (oneFs) {
            yield { kind: 'skipped-mount', path, fsType, reason: 'another filesystem (the scan stays on one filesystem per root)' };
            continue;
          }
          if (!LOCAL_DISK_FS_TYPES.has(fsType)) {
            yield { kind: 'skipped-mount', path, fsType, reason: 'not a local disk filesystem (virtual, network or unknown)' };
            continue;
          }
        }
        // A bind mount can show a folder twice; each is walked once.
        const id = `${st.dev}:${st.ino}`;
        if (seen.has(id)) continue;
        seen.add(id);
        subdirs.push({ path, dev: st.dev });
      }
    }
    // Reverse so that the stack pops folders in name order (stable output for people and tests).
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}
