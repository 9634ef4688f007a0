import { createHash } from 'node:crypto';
import { constants, promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, normalize } from 'node:path';
import { HELD_SUFFIX, SandgateError } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';
import { setModeNoFollow } from './held-mode.ts';

export interface ReleaseHeldOptions {
  events?: EventLog;
  now?: () => Date;
  /**
   * Permission bits to publish it with: those `hold-landed` took away. Only the rwx bits are kept. Without it a file
   * with no owner-read bit (held in place, record lost) is published owner-read-write; any other keeps its bits.
   */
  mode?: number;
  /** Test seam: runs after the held file was hashed, before it is linked under its final name. */
  beforePublish?: () => Promise<void> | void;
}

const MAX_NAME_TRIES = 100;

/**
 * Publishes a held download (`name.ext.sandgate-hold`) under its final name, or `name (N).ext` when that name is taken.
 * Only what was judged is published: the held file is hashed through a descriptor opened without following links,
 * then hard-linked (which never overwrites and never follows a link) and the new name is checked to be the very
 * inode that was hashed; otherwise the new name is removed again and ORIGINAL_CHANGED is raised. The held name is
 * removed last, so a failure at any step leaves the download held, never lost.
 */
export async function releaseHeld(heldPath: string, sha256: string, opts: ReleaseHeldOptions = {}): Promise<{ path: string }> {
  if (!isAbsolute(heldPath) || normalize(heldPath) !== heldPath || heldPath.includes('\0') || !heldPath.endsWith(HELD_SUFFIX)) {
    throw new SandgateError('PATH_INVALID', `not a held download: ${heldPath}`, { params: { path: heldPath } });
  }
  const finalName = basename(heldPath).slice(0, -HELD_SUFFIX.length);
  if (!finalName || finalName === '.' || finalName === '..') {
    throw new SandgateError('PATH_INVALID', `a held download needs a name before ${HELD_SUFFIX}`, { params: { path: heldPath } });
  }
  // A file held in place has no permission bits: made owner-readable (never through a link, only a file of this user)
  // long enough to open it; from then on the descriptor is what is read, hashed and given its mode back.
  const unlocked = await unlockForReading(heldPath);
  const lockedMode = unlocked?.mode;
  let handle;
  try {
    handle = await fsp.open(heldPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (unlocked) await setModeNoFollow(heldPath, unlocked.st, unlocked.mode).catch(() => undefined);
    if (code === 'ELOOP')
      throw new SandgateError('PATH_IS_LINK', `the held download is a symbolic link: ${heldPath}`, { params: { path: heldPath } });
    if (code === 'ENOENT')
      throw new SandgateError('FILE_NOT_FOUND', `the held download is gone: ${heldPath}`, { params: { path: heldPath } });
    throw new SandgateError('FILE_ACCESS_DENIED', `the held download cannot be read (${code ?? 'error'}): ${heldPath}`, {
      params: { path: heldPath },
    });
  }
  let published: string | undefined;
  let modeChanged = lockedMode !== undefined;
  let restoreMode = lockedMode;
  try {
    const before = await handle.stat();
    restoreMode ??= before.mode & 0o7777;
    if (!before.isFile())
      throw new SandgateError('FILE_NOT_REGULAR', `the held download is not a regular file: ${heldPath}`, { params: { path: heldPath } });
    const uid = process.getuid?.();
    if (uid !== undefined && before.uid !== uid) {
      throw new SandgateError('FILE_NOT_OWNED', `the held download belongs to another user (uid ${before.uid}): ${heldPath}`, {
        params: { path: heldPath },
      });
    }
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false, start: 0 })) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== sha256) {
      throw new SandgateError('ORIGINAL_CHANGED', `the held download no longer has the content that was judged: ${heldPath}`, {
        params: { path: heldPath },
      });
    }
    const wanted = opts.mode !== undefined ? opts.mode & 0o777 : lockedMode !== undefined ? 0o600 : undefined;
    if (wanted !== undefined) {
      await handle.chmod(wanted);
      modeChanged = true;
    }
    await opts.beforePublish?.();
    published = await linkUnderFreeName(heldPath, join(dirname(heldPath), finalName));
    const after = await fsp.lstat(published);
    const now = await handle.stat();
    if (after.ino !== before.ino || after.dev !== before.dev || now.size !== before.size || now.mtimeMs !== before.mtimeMs) {
      await fsp.rm(published, { force: true });
      published = undefined;
      throw new SandgateError('ORIGINAL_CHANGED', `the held download was replaced while it was being released: ${heldPath}`, {
        params: { path: heldPath },
      });
    }
    await fsp.unlink(heldPath);
  } catch (err) {
    // Still held: locked again as it was.
    if (modeChanged && restoreMode !== undefined) await handle.chmod(restoreMode).catch(() => undefined);
    throw err;
  } finally {
    await handle.close();
  }
  opts.events?.append({ type: 'held-released', path: published, sha256, message: `released from ${heldPath}` }, opts.now?.() ?? new Date());
  return { path: published };
}

/** Makes a held file with no owner-read bit readable by its owner; returns the bits it had, or undefined if untouched. */
async function unlockForReading(heldPath: string): Promise<{ mode: number; st: Stats } | undefined> {
  const st = await fsp.lstat(heldPath).catch(() => undefined);
  const uid = process.getuid?.();
  if (!st?.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o400) !== 0) return undefined;
  await setModeNoFollow(heldPath, st, 0o400);
  return { mode: st.mode & 0o7777, st };
}

/** `link()` fails with EEXIST rather than replace a file, so trying names in turn is race-free. */
async function linkUnderFreeName(source: string, wanted: string): Promise<string> {
  const ext = extname(wanted);
  const stem = wanted.slice(0, wanted.length - ext.length);
  for (let n = 0; n < MAX_NAME_TRIES; n++) {
    const candidate = n === 0 ? wanted : `${stem} (${n})${ext}`;
    try {
      await fsp.link(source, candidate);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new SandgateError('RESTORE_TARGET_EXISTS', `no free name for ${wanted} after ${MAX_NAME_TRIES} tries`, {
    params: { path: wanted },
  });
}
