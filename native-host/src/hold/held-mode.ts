import { constants, promises as fsp, type Stats } from 'node:fs';
import { HELD_SUFFIX, SandgateError } from '@sandgate/shared';

/** Linux `O_PATH` (x86, x86-64, arm, arm64): a descriptor that names an inode without opening it for reading. */
const LINUX_O_PATH = 0o10000000;
const O_PATH_ARCHES = new Set(['x64', 'ia32', 'arm64', 'arm']);

/**
 * Sets the permission bits of `path` without following a link, and only if it is still the inode that was checked.
 *
 * Node has no `lchmod` on Linux, and a held file (mode 000) cannot be opened to `fchmod` it. On Linux the inode is
 * pinned with `O_PATH | O_NOFOLLOW` and changed through `/proc/self/fd/N`, as glibc's `fchmodat(AT_SYMLINK_NOFOLLOW)`
 * does: no window at all. Elsewhere the name is checked with `lstat` right before `chmod`; a link swapped in between
 * by someone who can write the folder could get its target's mode changed, which that person could do anyway.
 */
export async function setModeNoFollow(path: string, expected: Pick<Stats, 'dev' | 'ino'>, mode: number): Promise<void> {
  if (process.platform === 'linux' && O_PATH_ARCHES.has(process.arch)) {
    const pinned = await fsp.open(path, LINUX_O_PATH | constants.O_NOFOLLOW);
    try {
      const st = await pinned.stat();
      if (!st.isFile() || st.dev !== expected.dev || st.ino !== expected.ino) throw changed(path);
      await fsp.chmod(`/proc/self/fd/${pinned.fd}`, mode);
    } finally {
      await pinned.close();
    }
    return;
  }
  const st = await fsp.lstat(path);
  if (!st.isFile() || st.dev !== expected.dev || st.ino !== expected.ino) throw changed(path);
  await fsp.chmod(path, mode);
}

/**
 * Runs `fn` (which opens `path` by name: the queue's copy, the quarantine) with a held file readable by its owner.
 * A file held in place (`hold-landed`) has no permission bits, so even its owner cannot open it; it is made
 * owner-read-only for the call and locked again afterwards if it is still there. Anything that is not a held
 * regular file of this user, or that is readable already, is passed through untouched, so the callee's own checks
 * (links, owner, content) decide.
 */
export async function withHeldReadable<T>(path: string, fn: () => Promise<T>): Promise<T> {
  if (!path.endsWith(HELD_SUFFIX)) return fn();
  const st = await fsp.lstat(path).catch(() => undefined);
  const uid = process.getuid?.();
  if (!st?.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o400) !== 0) return fn();
  const locked = st.mode & 0o7777;
  await setModeNoFollow(path, st, 0o400);
  try {
    return await fn();
  } finally {
    const now = await fsp.lstat(path).catch(() => undefined);
    if (now?.isFile() && now.ino === st.ino && now.dev === st.dev) await setModeNoFollow(path, st, locked).catch(() => undefined);
  }
}

function changed(path: string): SandgateError {
  return new SandgateError('ORIGINAL_CHANGED', `${path} was replaced while its permissions were being changed; it was left alone`, {
    params: { path },
  });
}
