import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, normalize } from 'node:path';
import { HELD_SUFFIX, SandgateError } from '@sandgate/shared';
import type { HoldLedger } from './hold-ledger.ts';

export interface HoldLandedOptions {
  /** Where the hold is recorded (with the bits the file had) before the file is touched. */
  ledger: HoldLedger;
  /** The browser that asked (the request's `caller`); only it may have the file released. */
  caller?: string | undefined;
  now?: () => Date;
  /** Test seam: runs once the file is locked, before its held name is made. */
  beforeRename?: () => Promise<void> | void;
}

export interface HeldDownload {
  path: string;
  mode: number;
  /** The download was held already, by an earlier request for it. */
  again: boolean;
}

const MAX_NAME_TRIES = 100;

/**
 * Holds a download that has already landed under its final name (browsers without `onDeterminingFilename`): first
 * the hold is recorded (landed and held names, permission bits, inode), then every permission bit is removed through
 * the descriptor that was checked, so from then on nobody but root can open it even by name; then it is hard-linked
 * as `<name>.sandgate-hold` (a link never overwrites and never follows) and the final name removed, so it cannot be
 * found either. Only a regular file of this user with a single name is held: deleting one name of a multiply-linked
 * file would leave the content openable under the other.
 *
 * A failure before the final name is removed puts the permission bits back and leaves the file where it landed; a
 * crash is finished or undone from the record at the next start (HoldLedger.reconcile). Asked again for a download
 * already held for the same browser, it answers with that hold.
 */
export async function holdLanded(path: string, opts: HoldLandedOptions): Promise<HeldDownload> {
  if (!isAbsolute(path) || normalize(path) !== path || path.includes('\0') || path.endsWith(HELD_SUFFIX) || !basename(path)) {
    throw new SandgateError('PATH_INVALID', `not a download that can be held: ${JSON.stringify(path)}`, { params: { path } });
  }
  const dir = dirname(path);
  const real = await fsp.realpath(dir).catch((err: unknown) => {
    throw new SandgateError('FILE_NOT_FOUND', `the download folder is gone (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${dir}`, {
      params: { path },
    });
  });
  if (real !== dir)
    throw new SandgateError('PATH_IS_LINK', `a folder in the path is a symbolic link (it resolves to ${real}): ${path}`, {
      params: { path },
    });

  let handle;
  try {
    handle = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new SandgateError('PATH_IS_LINK', `the download is a symbolic link: ${path}`, { params: { path } });
    if (code === 'ENOENT') {
      const earlier = await opts.ledger.findLanded(path, opts.caller);
      if (earlier) return { path: earlier.heldPath, mode: earlier.mode, again: true };
      throw new SandgateError('FILE_NOT_FOUND', `the download is gone: ${path}`, { params: { path } });
    }
    throw new SandgateError('FILE_ACCESS_DENIED', `the download cannot be opened (${code ?? 'error'}): ${path}`, { params: { path } });
  }
  let heldPath: string | undefined;
  let recorded: string | undefined;
  let locked = false;
  let mode = 0;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new SandgateError('FILE_NOT_REGULAR', `the download is not a regular file: ${path}`, { params: { path } });
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new SandgateError('FILE_NOT_OWNED', `the download belongs to another user (uid ${st.uid}): ${path}`, { params: { path } });
    }
    if (st.nlink !== 1)
      throw new SandgateError('FILE_NOT_REGULAR', `the download has ${st.nlink} names (hard links): ${path}`, {
        params: { path, nlink: st.nlink },
      });
    mode = st.mode & 0o7777;
    const entry = {
      format: 1 as const,
      landedPath: path,
      mode,
      dev: st.dev,
      ino: st.ino,
      heldAt: (opts.now?.() ?? new Date()).toISOString(),
      ...(opts.caller ? { caller: opts.caller } : {}),
    };
    for (let n = 0; n < MAX_NAME_TRIES && !heldPath; n++) {
      const candidate = heldName(path, n);
      if (
        await fsp.lstat(candidate).then(
          () => true,
          () => false,
        )
      )
        continue;
      await opts.ledger.put({ ...entry, heldPath: candidate });
      recorded = candidate;
      if (!locked) {
        await handle.chmod(0);
        locked = true;
        await opts.beforeRename?.();
      }
      try {
        await fsp.link(path, candidate);
        heldPath = candidate;
      } catch (err) {
        opts.ledger.remove(candidate);
        recorded = undefined;
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    if (!heldPath)
      throw new SandgateError('RESTORE_TARGET_EXISTS', `no free held name for ${path} after ${MAX_NAME_TRIES} tries`, { params: { path } });
    const [held, landed] = await Promise.all([fsp.lstat(heldPath), fsp.lstat(path).catch(() => undefined)]);
    // The name must still be the inode that was checked and locked; a file swapped in is not ours to remove.
    if (held.ino !== st.ino || held.dev !== st.dev || !landed || landed.ino !== st.ino || landed.dev !== st.dev) {
      throw new SandgateError('ORIGINAL_CHANGED', `the download was replaced while it was being held: ${path}`, { params: { path } });
    }
    await fsp.unlink(path);
    return { path: heldPath, mode, again: false };
  } catch (err) {
    if (heldPath) await fsp.unlink(heldPath).catch(() => undefined);
    if (recorded) opts.ledger.remove(recorded);
    if (locked) await handle.chmod(mode).catch(() => undefined);
    throw err;
  } finally {
    await handle.close();
  }
}

/** `<name><HELD_SUFFIX>`, or `<stem> (N)<ext><HELD_SUFFIX>` when a held file of that name is already waiting. */
function heldName(path: string, n: number): string {
  const name = basename(path);
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  return join(dirname(path), `${n === 0 ? name : `${stem} (${n})${ext}`}${HELD_SUFFIX}`);
}
