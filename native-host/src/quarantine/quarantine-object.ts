import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { SandgateError, type Provenance, type Verdict } from '@sandgate/shared';
import { encryptFromHandle, verifyBlobTag } from './blob-cipher.ts';
import type { StoreKeys } from './key-source.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { sealMetadata, openMetadata, type ItemMetadata } from './item-metadata.ts';
import { isLinkFreeDir } from './private-dir.ts';
import { newItemId, type ItemFiles } from './store-layout.ts';
import { fsyncDir } from '@sandgate/shared/durable-write';
import { closeLater } from './unlink-freeing-later.ts';

export interface QuarantineObjectOptions {
  /** Absolute, normalised path of the original. */
  path: string;
  /** SHA-256 of the bytes the sandbox judged; the original is only touched if it still has exactly these. */
  expectedSha256: string;
  verdict: Verdict;
  provenance: Provenance;
  jobId: string;
  /** Why, for people; defaults to the verdict. */
  reason?: string;
}

/** Points where tests inject the races an attacker would win in the field. Never used in production code. */
export interface QuarantineRaceHooks {
  /** Runs after the copy is stored and made durable, just before it is read back and verified. */
  beforeVerify?: (files: ItemFiles) => void | Promise<void>;
  /** Runs after the copy is stored and verified, just before the original is checked and deleted. */
  beforeDelete?: () => void | Promise<void>;
}

const failed = (message: string, reason: string, cause?: unknown) =>
  new SandgateError('QUARANTINE_FAILED', `${message}; the original was left in place`, { params: { reason }, cause });

/**
 * "Move a copy to quarantine, delete the object": the original is opened without following links, hashed and
 * encrypted from that one descriptor (read once; a large one is hashed on worker threads while this thread
 * encrypts), the stored copy is read back and its authentication tag verified, and only then is the original
 * deleted, and only if the name still refers to the very inode that was hashed.
 *
 * Errors: ORIGINAL_CHANGED when the original no longer is what was judged (left alone; if the copy was already made
 * it is kept and the message says so); QUARANTINE_FAILED for everything else, with nothing deleted.
 */
export async function quarantineObject(
  store: QuarantineStore,
  opts: QuarantineObjectOptions,
  hooks: QuarantineRaceHooks = {},
): Promise<{ id: string }> {
  const { path } = opts;
  if (!isAbsolute(path) || normalize(path) !== path || path.includes('\0'))
    throw failed(`${JSON.stringify(path)} is not an absolute, normalised path`, 'PATH_INVALID');
  const dir = dirname(path);
  if (!isLinkFreeDir(dir)) throw failed(`the folder ${dir} is missing or passes through a symbolic link`, 'PATH_IS_LINK');

  let src: FileHandle;
  try {
    // O_NONBLOCK: a FIFO swapped in must not hang us before fstat can refuse it.
    src = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new SandgateError('ORIGINAL_CHANGED', `${path} is now a symbolic link; it was left alone`, { params: { path }, cause: err });
    if (code === 'ENOENT') throw new SandgateError('ORIGINAL_CHANGED', `${path} no longer exists`, { params: { path }, cause: err });
    throw failed(`${path} could not be opened (${code ?? 'error'})`, code ?? 'OPEN_FAILED', err);
  }

  try {
    const st = await src.stat();
    if (!st.isFile())
      throw new SandgateError('ORIGINAL_CHANGED', `${path} is no longer a regular file; it was left alone`, { params: { path } });
    // Deleting one name of a multiply-linked file would not remove the content, and the other name may be someone else's.
    if (st.nlink !== 1) throw failed(`${path} has ${st.nlink} hard links`, 'HARD_LINKED');

    let keys: StoreKeys;
    try {
      keys = store.keys();
    } catch (err) {
      if (err instanceof SandgateError) throw err;
      throw failed(`the quarantine key could not be loaded: ${(err as Error).message}`, 'KEY_UNAVAILABLE', err);
    }

    const id = newItemId();
    const files = store.files(id);
    const meta = await storeCopy(src, st, keys, id, files, opts);
    await hooks.beforeVerify?.(files);
    await verifyStored(keys, id, files, opts.expectedSha256, meta.size);

    await hooks.beforeDelete?.();
    await deleteOriginal(path, st, id);
    return { id };
  } finally {
    // Once the original is unlinked this is its last descriptor: closing it frees its blocks (about 0.4 s per GiB
    // here), which nothing above depends on, so the answer does not wait for it.
    closeLater(src);
  }
}

async function storeCopy(
  src: FileHandle,
  st: Stats,
  keys: StoreKeys,
  id: string,
  files: ItemFiles,
  opts: QuarantineObjectOptions,
): Promise<ItemMetadata> {
  const blobTmp = `${files.blob}.tmp`;
  const metaTmp = `${files.meta}.tmp`;
  const cleanup = () => Promise.all([blobTmp, metaTmp, files.blob, files.meta].map((f) => fsp.rm(f, { force: true })));
  const wx = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  try {
    const dst = await fsp.open(blobTmp, wx, 0o600);
    let digests: Awaited<ReturnType<typeof encryptFromHandle>>;
    try {
      // The copy is fsynced while the digests finish.
      digests = await encryptFromHandle(src, dst, keys.blob, id, st.size, () => dst.sync());
    } finally {
      await dst.close();
    }
    if (digests.sha256 !== opts.expectedSha256) {
      await cleanup();
      throw new SandgateError(
        'ORIGINAL_CHANGED',
        `${opts.path} no longer has the content that was judged (SHA-256 ${digests.sha256}, judged ${opts.expectedSha256}); it was left alone`,
        {
          params: { path: opts.path, sha256: digests.sha256, expectedSha256: opts.expectedSha256 },
        },
      );
    }
    await fsp.rename(blobTmp, files.blob);

    const { verdict, provenance } = opts;
    const meta: ItemMetadata = {
      format: 1,
      id,
      originalPath: opts.path,
      owner: { uid: st.uid, gid: st.gid },
      mode: st.mode & 0o7777,
      atimeMs: st.atimeMs,
      mtimeMs: st.mtimeMs,
      size: digests.size,
      sha256: digests.sha256,
      sha1: digests.sha1,
      md5: digests.md5,
      verdict: { level: verdict.level, threat: verdict.threat, server: verdict.server, score: verdict.score },
      source: {
        kind: provenance.source,
        browser: provenance.browser,
        url: provenance.url,
        finalUrl: provenance.finalUrl,
        referrer: provenance.referrer,
        downloadId: provenance.downloadId,
      },
      jobId: opts.jobId,
      quarantinedAt: new Date().toISOString(),
      reason: opts.reason ?? `${verdict.level} verdict${verdict.threat ? ` (${verdict.threat})` : ''} from ${verdict.server}`,
      cipher: 'aes-256-gcm',
    };
    const mh = await fsp.open(metaTmp, wx, 0o600);
    try {
      await mh.writeFile(sealMetadata(keys.mac, meta));
      await mh.sync();
    } finally {
      await mh.close();
    }
    await fsp.rename(metaTmp, files.meta);
    await fsyncDir(dirname(files.meta));
    return meta;
  } catch (err) {
    await cleanup();
    if (err instanceof SandgateError) throw err;
    throw failed(`the quarantine copy could not be written: ${(err as Error).message}`, 'STORE_WRITE_FAILED', err);
  }
}

/**
 * Reads the item back before anything is deleted: its metadata must authenticate and record the judged SHA-256, and
 * its blob must authenticate (AES-GCM tag, item id as associated data) and decrypt to the recorded size. A blob that
 * authenticates is, byte for byte, the ciphertext storeCopy produced from the bytes it hashed to the judged SHA-256,
 * so it decrypts to content with that SHA-256 without hashing it a second time (docs/decisions.md).
 */
async function verifyStored(keys: StoreKeys, id: string, files: ItemFiles, expectedSha256: string, size: number): Promise<void> {
  try {
    const meta = openMetadata(keys.mac, id, await fsp.readFile(files.meta, 'utf8'));
    const stored = await verifyBlobTag(files.blob, keys.blob, id);
    if (meta.sha256 !== expectedSha256) throw new Error('the stored copy does not have the judged SHA-256');
    if (stored.size !== size || meta.size !== size) throw new Error('the stored copy does not have the size that was hashed');
  } catch (err) {
    await Promise.all([files.blob, files.meta].map((f) => fsp.rm(f, { force: true })));
    throw failed(`the quarantine copy did not verify: ${(err as Error).message}`, 'VERIFY_FAILED', err);
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && b.isFile() && !b.isSymbolicLink() && b.nlink === 1;
}

/**
 * Deletes the original only if its name still refers to the inode we hashed. The entry is first renamed to a random
 * name in the same folder and checked again there: rename moves whatever the name points at (a link is moved, never
 * followed), so what we finally unlink is exactly what we checked, not whatever an attacker put at the path later.
 */
async function deleteOriginal(path: string, hashed: Stats, id: string): Promise<void> {
  const kept = `the quarantine copy ${id} was kept`;
  const changed = (why: string) =>
    new SandgateError('ORIGINAL_CHANGED', `${path} ${why}; it was left alone and ${kept}`, { params: { path, quarantineId: id } });
  const dir = dirname(path);
  if (!isLinkFreeDir(dir)) throw changed('is now inside a folder reached through a symbolic link');
  let now: Stats;
  try {
    now = await fsp.lstat(path);
  } catch {
    throw changed('disappeared before it could be deleted');
  }
  if (!sameFile(hashed, now)) throw changed(now.isSymbolicLink() ? 'was replaced by a symbolic link' : 'was replaced by another file');

  const aside = join(dir, `.${basename(path).slice(0, 100)}.sandgate-delete-${randomBytes(8).toString('hex')}`);
  try {
    await fsp.rename(path, aside);
  } catch (err) {
    throw failed(`${path} could not be deleted (${(err as NodeJS.ErrnoException).code ?? 'error'}); ${kept}`, 'DELETE_FAILED', err);
  }
  const moved = await fsp.lstat(aside).catch(() => undefined);
  if (!moved) throw changed(`vanished while being deleted`);
  if (!sameFile(hashed, moved)) {
    // We caught something else mid-swap: put it back without overwriting whatever is at the path now.
    try {
      await fsp.link(aside, path);
      await fsp.unlink(aside);
    } catch {
      throw changed(`was replaced while being deleted; the replacement was left at ${aside}`);
    }
    throw changed('was replaced while being deleted');
  }
  try {
    await fsp.unlink(aside);
  } catch (err) {
    // Nothing is lost: the content is both in quarantine and (under a hidden name) beside where it was.
    throw new SandgateError(
      'QUARANTINE_FAILED',
      `${path} was moved aside to ${aside} but could not be deleted (${(err as NodeJS.ErrnoException).code ?? 'error'}); ${kept}`,
      {
        params: { reason: 'DELETE_FAILED', path: aside, quarantineId: id },
        cause: err,
      },
    );
  }
}
