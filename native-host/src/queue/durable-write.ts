import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Name prefix of every half-written file; whatever carries it at start-up is debris from a crash and is removed. */
export const TEMP_PREFIX = '.tmp-';

export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

/** Writes a new file (never overwriting) and fsyncs it; on failure nothing is left at `path`. */
export async function writeFileSynced(path: string, data: string | Buffer): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(path).catch(() => {});
    throw err;
  }
  await fh.close();
}

/**
 * Replaces `dir/name` with `data` so that after a crash the file is either the old one or the whole new one:
 * write a temp file, fsync it, rename over, fsync the folder (the rename itself lives in the folder).
 */
export async function writeFileDurable(dir: string, name: string, data: string | Buffer): Promise<void> {
  const tmp = join(dir, tempName());
  await writeFileSynced(tmp, data);
  try {
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
