import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, normalize } from 'node:path';
import { HELD_SUFFIX, SandgateError } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';

export interface ReleaseHeldOptions {
  events?: EventLog;
  now?: () => Date;
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
  let handle;
  try {
    handle = await fsp.open(heldPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new SandgateError('PATH_IS_LINK', `the held download is a symbolic link: ${heldPath}`, { params: { path: heldPath } });
    if (code === 'ENOENT') throw new SandgateError('FILE_NOT_FOUND', `the held download is gone: ${heldPath}`, { params: { path: heldPath } });
    throw new SandgateError('FILE_ACCESS_DENIED', `the held download cannot be read (${code ?? 'error'}): ${heldPath}`, { params: { path: heldPath } });
  }
  let published: string | undefined;
  try {
    const before = await handle.stat();
    if (!before.isFile()) throw new SandgateError('FILE_NOT_REGULAR', `the held download is not a regular file: ${heldPath}`, { params: { path: heldPath } });
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false, start: 0 })) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== sha256) {
      throw new SandgateError('ORIGINAL_CHANGED', `the held download no longer has the content that was judged: ${heldPath}`, { params: { path: heldPath } });
    }
    await opts.beforePublish?.();
    published = await linkUnderFreeName(heldPath, join(dirname(heldPath), finalName));
    const after = await fsp.lstat(published);
    const now = await handle.stat();
    if (after.ino !== before.ino || after.dev !== before.dev || now.size !== before.size || now.mtimeMs !== before.mtimeMs) {
      await fsp.rm(published, { force: true });
      published = undefined;
      throw new SandgateError('ORIGINAL_CHANGED', `the held download was replaced while it was being released: ${heldPath}`, { params: { path: heldPath } });
    }
    await fsp.unlink(heldPath);
  } finally {
    await handle.close();
  }
  opts.events?.append({ type: 'held-released', path: published, sha256, message: `released from ${heldPath}` }, opts.now?.() ?? new Date());
  return { path: published };
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
  throw new SandgateError('RESTORE_TARGET_EXISTS', `no free name for ${wanted} after ${MAX_NAME_TRIES} tries`, { params: { path: wanted } });
}
