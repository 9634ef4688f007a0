import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// The one way Sandgate puts a file on disk (the agent's queue and task records, hold ledger, console state and browser
// manifests; the lab's analyses, token and certificate): after a crash or a power cut a file is either absent, the
// whole old one or the whole new one, and a symlink someone planted at the destination is replaced, never written
// through. Node-only: exported as `@sandgate/shared/durable-write`, never from the index the extension bundles.

/** Name prefix of every half-written file; whatever carries it at start-up is debris from a crash and is removed. */
export const TEMP_PREFIX = '.tmp-';

export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

/**
 * Writes a new file (never overwriting, never through a symlink: O_CREAT|O_EXCL refuses any existing name) and fsyncs
 * it; on failure nothing is left at `path`. `mode` is set exactly, whatever the umask.
 */
export async function writeFileSynced(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(path).catch(() => {});
    throw err;
  }
  await fh.close();
}

/**
 * Replaces `dir/name` with `data`: write a temp file, fsync it, rename over, fsync the folder (the rename itself lives
 * in the folder, and is lost in a power cut until the folder is synced).
 */
export async function writeFileDurable(dir: string, name: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = join(dir, tempName());
  await writeFileSynced(tmp, data, mode);
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

/** `writeFileDurable` by path. */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  return writeFileDurable(dirname(path), basename(path), data, mode);
}

/**
 * Makes a rename in `dir` durable. Windows cannot flush a folder (FlushFileBuffers on a folder handle opened for
 * reading fails with EPERM, and Node opens no other kind); NTFS journals the rename itself, so there it does nothing.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
