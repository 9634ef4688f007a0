import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { isLinkFreeDir } from './private-dir.ts';

export interface PublishOptions {
  /** What the new file is, for error messages: "restore" or "export". */
  purpose: string;
  /** Permission bits of the temporary file while it is written (the writer may chmod it). */
  mode?: number;
  /** Test seam: runs after the content is written, just before it is published. */
  beforePublish?: (destination: string) => void | Promise<void>;
}

const unsafe = (dest: string, purpose: string, why: string) =>
  new SandgateError('RESTORE_TARGET_UNSAFE', `cannot ${purpose} to ${dest}: ${why}`, { params: { path: dest } });

/**
 * Writes a file that did not exist before, at a destination an attacker may be racing for. The content goes to a fresh
 * O_EXCL|O_NOFOLLOW file beside the destination and is published with link(), which fails rather than replace anything;
 * the folder must be link-free before and after writing. Never overwrites, never writes through a link.
 * RESTORE_TARGET_EXISTS when something is at the name, RESTORE_TARGET_UNSAFE for links and unusable folders.
 */
export async function publishNewFile(dest: string, opts: PublishOptions, write: (out: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(dest);
  if (!isLinkFreeDir(dir)) throw unsafe(dest, opts.purpose, `the folder ${dir} is missing or passes through a symbolic link`);
  await refuseExisting(dest, opts.purpose);
  const tmp = join(dir, `.${basename(dest).slice(0, 100)}.sandgate-${randomBytes(8).toString('hex')}`);
  let out: FileHandle;
  try {
    out = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, opts.mode ?? 0o600);
  } catch (err) {
    throw unsafe(dest, opts.purpose, `a file cannot be created in ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    try {
      await write(out);
      await out.sync();
    } finally {
      await out.close();
    }
    await opts.beforePublish?.(dest);
    if (!isLinkFreeDir(dir)) throw unsafe(dest, opts.purpose, `the folder ${dir} was replaced by a symbolic link`);
    try {
      await fsp.link(tmp, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') await refuseExisting(dest, opts.purpose);
      throw unsafe(dest, opts.purpose, `the file could not be published (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

export async function refuseExisting(dest: string, purpose: string): Promise<void> {
  try {
    const st = await fsp.lstat(dest);
    throw st.isSymbolicLink()
      ? unsafe(dest, purpose, 'a symbolic link is in its place')
      : new SandgateError('RESTORE_TARGET_EXISTS', `${dest} already exists; nothing was overwritten`, { params: { path: dest } });
  } catch (err) {
    if (err instanceof SandgateError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw unsafe(dest, purpose, `it cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export { unsafe as unsafeTarget };
