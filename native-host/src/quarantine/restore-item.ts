import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { EventLog } from '../events/event-log.ts';
import { decryptBlob } from './blob-cipher.ts';
import { acquireItemLock } from './item-lock.ts';
import { isLinkFreeDir } from './private-dir.ts';
import { loadStoreKeys, readItemMetadata, type StoreOptions } from './read-item.ts';
import { assertItemExists, itemFiles } from './store-layout.ts';

export interface RestoreOptions extends StoreOptions {
  /** A folder (restored under the original name) or a file path; default: the original path. */
  to?: string;
  events?: EventLog;
}

/** Points where tests inject the races an attacker would win in the field. Never used in production code. */
export interface RestoreRaceHooks {
  /** Runs after the content is decrypted and verified, just before it is published under the destination name. */
  beforePublish?: (destination: string) => void | Promise<void>;
}

const unsafe = (dest: string, why: string) => new SandgateError('RESTORE_TARGET_UNSAFE', `cannot restore to ${dest}: ${why}`, { params: { path: dest } });
const exists = (dest: string) => new SandgateError('RESTORE_TARGET_EXISTS', `${dest} already exists; nothing was overwritten`, { params: { path: dest } });

/**
 * Restores an item, byte-identical and verified, then removes it from the store. Never overwrites an existing file,
 * never writes through a link: the content goes to a fresh O_EXCL|O_NOFOLLOW file in the destination folder and is
 * published with link(), which fails rather than replace anything at the destination name.
 * Permission bits are restored without set-uid/set-gid/sticky: a restore must never mint privileges.
 */
export async function restore(home: string, id: string, opts: RestoreOptions = {}, hooks: RestoreRaceHooks = {}): Promise<{ path: string }> {
  assertItemExists(home, id);
  const keys = loadStoreKeys(home, opts);
  readItemMetadata(home, id, keys);
  const files = itemFiles(home, id);
  const release = acquireItemLock(files.lock, id);
  try {
    // Read again under the lock: a concurrent restore may have finished and removed the item meanwhile.
    const meta = readItemMetadata(home, id, keys);
    const dest = await destinationFor(meta.originalPath, opts.to);
    const dir = dirname(dest);
    if (!isLinkFreeDir(dir)) throw unsafe(dest, `the folder ${dir} is missing or passes through a symbolic link`);
    await refuseExisting(dest);

    const tmp = join(dir, `.${basename(dest).slice(0, 100)}.sandgate-restore-${randomBytes(8).toString('hex')}`);
    let out: FileHandle;
    try {
      out = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw unsafe(dest, `a file cannot be created in ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    let published = false;
    try {
      try {
        let pos = 0;
        const { sha256, size } = await decryptBlob(files.blob, keys.blob, id, async (chunk) => {
          await out.write(chunk, 0, chunk.length, pos);
          pos += chunk.length;
        });
        if (sha256 !== meta.sha256 || size !== meta.size) {
          throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its content does not have the recorded SHA-256`, { params: { id } });
        }
        await out.chmod(meta.mode & 0o777);
        if (process.getuid?.() === 0) await out.chown(meta.owner.uid, meta.owner.gid);
        await out.utimes(meta.atimeMs / 1000, meta.mtimeMs / 1000);
        await out.sync();
      } finally {
        await out.close();
      }
      await hooks.beforePublish?.(dest);
      if (!isLinkFreeDir(dir)) throw unsafe(dest, `the folder ${dir} was replaced by a symbolic link`);
      try {
        await fsp.link(tmp, dest);
        published = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') await refuseExisting(dest);
        throw unsafe(dest, `the file could not be published (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } finally {
      await fsp.rm(tmp, { force: true });
    }

    if (published) {
      await Promise.all([files.blob, files.meta].map((f) => fsp.rm(f, { force: true })));
      const events = opts.events ?? new EventLog(sandgatePaths(home).events);
      events.append({
        type: 'restored',
        quarantineId: id,
        path: dest,
        sha256: meta.sha256,
        level: meta.verdict.level,
        threat: meta.verdict.threat,
        message: dest === meta.originalPath ? 'restored to its original place' : `restored to ${dest} (originally ${meta.originalPath})`,
      });
    }
    return { path: dest };
  } finally {
    release();
  }
}

/** `--to` may name a folder (keep the original name) or a new file path. */
async function destinationFor(originalPath: string, to: string | undefined): Promise<string> {
  if (to === undefined) return originalPath;
  const abs = resolve(to);
  try {
    const st = await fsp.lstat(abs);
    if (st.isSymbolicLink()) throw unsafe(abs, 'it is a symbolic link');
    if (st.isDirectory()) return join(abs, basename(originalPath));
  } catch (err) {
    if (err instanceof SandgateError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unsafe(abs, `it cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    if (/[\\/]$/.test(to)) throw unsafe(abs, 'the folder does not exist');
  }
  return abs;
}

async function refuseExisting(dest: string): Promise<void> {
  try {
    const st = await fsp.lstat(dest);
    throw st.isSymbolicLink() ? unsafe(dest, 'a symbolic link is in its place') : exists(dest);
  } catch (err) {
    if (err instanceof SandgateError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unsafe(dest, `it cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
