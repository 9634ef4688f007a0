import { promises as fsp } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { decryptAuthenticated } from './blob-cipher.ts';
import { acquireItemLock } from './item-lock.ts';
import { publishNewFile, unsafeTarget } from './publish-new-file.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { writeBehind } from './write-behind.ts';
import { unlinkFreeingLater } from './unlink-freeing-later.ts';

export interface RestoreOptions {
  /** A folder (restored under the original name) or a file path; default: the original path. */
  to?: string;
}

/** Points where tests inject the races an attacker would win in the field. Never used in production code. */
export interface RestoreRaceHooks {
  /** Runs after the content is decrypted and verified, just before it is published under the destination name. */
  beforePublish?: (destination: string) => void | Promise<void>;
}

const unsafe = (dest: string, why: string) => unsafeTarget(dest, 'restore', why);

/**
 * Restores an item, byte-identical and verified (AES-GCM tag and recorded size), fsynced, then removes it from the store. Never overwrites an existing file,
 * never writes through a link (see publishNewFile).
 * Permission bits are restored without set-uid/set-gid/sticky: a restore must never mint privileges.
 */
export async function restore(
  store: QuarantineStore,
  id: string,
  opts: RestoreOptions = {},
  hooks: RestoreRaceHooks = {},
): Promise<{ path: string }> {
  store.assertExists(id);
  store.readMetadata(id);
  const keys = store.readKeys();
  const files = store.files(id);
  const release = acquireItemLock(files.lock, id);
  try {
    // Read again under the lock: a concurrent restore may have finished and removed the item meanwhile.
    const meta = store.readMetadata(id);
    const dest = await destinationFor(meta.originalPath, opts.to);
    await publishNewFile(
      dest,
      { purpose: 'restore', ...(hooks.beforePublish ? { beforePublish: hooks.beforePublish } : {}) },
      async (out) => {
        // Each decrypted chunk is written while the next is read and decrypted. The temporary file is published only
        // after the tag has verified every byte written (docs/decisions.md: why that is the recorded SHA-256, not
        // hashed a second time), the size is the recorded one and the file is fsynced; on any failure it is removed.
        const writer = writeBehind(out);
        let size: number;
        try {
          ({ size } = await decryptAuthenticated(files.blob, keys.blob, id, (pieces) => writer.queue(pieces)));
          await writer.flush();
        } finally {
          await writer.settle();
        }
        if (size !== meta.size || writer.offset !== meta.size) {
          throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its content does not have the recorded size`, {
            params: { id },
          });
        }
        await out.chmod(meta.mode & 0o777);
        if (process.getuid?.() === 0) await out.chown(meta.owner.uid, meta.owner.gid);
        await out.utimes(meta.atimeMs / 1000, meta.mtimeMs / 1000);
      },
    );
    await Promise.all([unlinkFreeingLater(files.blob), fsp.rm(files.meta, { force: true })]);
    store.events.append({
      type: 'restored',
      quarantineId: id,
      path: dest,
      sha256: meta.sha256,
      level: meta.verdict.level,
      threat: meta.verdict.threat,
      message: dest === meta.originalPath ? 'restored to its original place' : `restored to ${dest} (originally ${meta.originalPath})`,
    });
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
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw unsafe(abs, `it cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    if (/[\\/]$/.test(to)) throw unsafe(abs, 'the folder does not exist');
  }
  return abs;
}
