import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { HashName } from '../ioc/observation.ts';

export type Hashes = Partial<Record<HashName, string>>;

export interface HashFileOptions {
  /** The lstat the walk saw: the opened file must still be that inode, or the read is refused (swapped meanwhile). */
  expect?: Pick<Stats, 'dev' | 'ino'>;
  /** Read at most this many bytes (a boot sector: the first 512 bytes of a disk). */
  limit?: number;
  /** Accept a block device (boot sectors); otherwise only regular files are read. */
  allowDevice?: boolean;
  /** Follow a final symbolic link (only for /proc/PID/exe, which is how a deleted executable is still read). */
  followLink?: boolean;
  /** The size the listing saw: small files are read synchronously (see SYNC_MAX_BYTES). */
  sizeHint?: number;
  /** Keep the first this many bytes, returned as `prefix` (YARA scans them; read in the same pass as the hashes). */
  keep?: number;
}

export interface HashFileResult {
  hashes: Hashes;
  bytesRead: number;
  /** The first `keep` bytes (or the whole file when shorter), when `keep` was asked for. */
  prefix?: Buffer;
}

/** Copies the first `limit` bytes of a stream of chunks into one buffer. */
class Prefix {
  private readonly buf: Buffer;
  private filled = 0;
  constructor(limit: number, sizeHint: number) {
    this.buf = Buffer.allocUnsafe(Math.max(0, Math.min(limit, sizeHint)));
  }
  add(chunk: Buffer): void {
    if (this.filled < this.buf.length)
      this.filled += chunk.copy(this.buf, this.filled, 0, Math.min(chunk.length, this.buf.length - this.filled));
  }
  get(): Buffer {
    return this.buf.subarray(0, this.filled);
  }
}

const CHUNK = 1024 * 1024;
const NOATIME = constants.O_NOATIME ?? 0;
/**
 * Files up to this size are opened, read and hashed with synchronous calls. Four promise-based calls per file (open,
 * stat, read, close) each cost a thread-pool round trip, several times the work of hashing a few kilobytes from the
 * page cache; the synchronous path is what sha256sum does. Larger files go through the asynchronous path, where reads
 * in flight overlap with hashing.
 */
export const SYNC_MAX_BYTES = 256 * 1024;

function flags(opts: HashFileOptions): number {
  // O_NONBLOCK: a FIFO swapped in after the lstat must not hang the scan. O_NOATIME: a scan should not rewrite the
  // access times an investigation may need; the kernel allows it only to the owner or root, so retry without it.
  return constants.O_RDONLY | (opts.followLink ? 0 : constants.O_NOFOLLOW) | (constants.O_NONBLOCK ?? 0);
}

function check(path: string, st: Stats, opts: HashFileOptions): void {
  if (!(st.isFile() || (opts.allowDevice && st.isBlockDevice()))) throw notTheFile(path, 'not a regular file');
  if (opts.expect && (st.dev !== opts.expect.dev || st.ino !== opts.expect.ino)) throw notTheFile(path, 'replaced since it was listed');
}

/**
 * One read buffer per thread for the synchronous path, reused for every file: a fresh buffer per file (up to 1 MiB
 * each) made the garbage collector a sizeable share of a scan. Safe because the synchronous path never yields while
 * the buffer holds bytes: they are hashed (and the kept prefix copied) before the next read.
 */
let syncBuffer: Buffer | undefined;

/**
 * The synchronous read: open (without following a final link, without blocking), fstat, read, close: the fewest
 * calls that still check the opened inode is the one listed. Used for small files on the calling thread and for every
 * file on the hashing threads (`hash-worker.ts`), where blocking is the point.
 */
export function hashFileSync(path: string, needed: ReadonlySet<HashName>, opts: HashFileOptions = {}): HashFileResult {
  let fd: number;
  try {
    fd = openSync(path, flags(opts) | NOATIME);
  } catch (err) {
    if (!NOATIME || (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    fd = openSync(path, flags(opts));
  }
  try {
    const st = fstatSync(fd);
    check(path, st, opts);
    const hashers = [...needed].map((n) => [n, createHash(n)] as const);
    const limit = Math.min(opts.limit ?? Infinity, hashers.length ? Infinity : (opts.keep ?? Infinity));
    const prefix = opts.keep !== undefined ? new Prefix(opts.keep, st.size) : undefined;
    syncBuffer ??= Buffer.allocUnsafe(CHUNK);
    const buf = syncBuffer.subarray(0, Math.max(1, Math.min(st.size + 1, limit, CHUNK)));
    let total = 0;
    for (;;) {
      const ask = Math.min(buf.length, limit - total);
      if (ask <= 0) break;
      const n = readSync(fd, buf, 0, ask, null);
      if (n === 0) break;
      const chunk = n === buf.length ? buf : buf.subarray(0, n);
      for (const [, h] of hashers) h.update(chunk);
      prefix?.add(chunk);
      total += n;
      if (st.isFile() && n < ask) break;
    }
    const hashes: Hashes = {};
    for (const [n, h] of hashers) hashes[n] = h.digest('hex');
    return { hashes, bytesRead: total, ...(prefix ? { prefix: prefix.get() } : {}) };
  } finally {
    closeSync(fd);
  }
}

async function openForScan(path: string, opts: HashFileOptions): Promise<FileHandle> {
  const base = flags(opts);
  try {
    return await open(path, base | NOATIME);
  } catch (err) {
    if (NOATIME && (err as NodeJS.ErrnoException).code === 'EPERM') return open(path, base);
    throw err;
  }
}

function notTheFile(path: string, why: string): NodeJS.ErrnoException {
  const e = new Error(`${path}: ${why}`) as NodeJS.ErrnoException;
  e.code = 'ECHANGED';
  return e;
}

/**
 * Reads a file once and feeds every hash asked for from the same bytes. Never follows a final symbolic link (unless
 * asked, for /proc/PID/exe) and checks the opened inode is the one the walk stat'ed.
 */
export async function hashFile(path: string, needed: ReadonlySet<HashName>, opts: HashFileOptions = {}): Promise<HashFileResult> {
  if (opts.sizeHint !== undefined && opts.sizeHint <= SYNC_MAX_BYTES) return hashFileSync(path, needed, opts);
  const fh = await openForScan(path, opts);
  try {
    const st = await fh.stat();
    check(path, st, opts);
    const hashers: Array<[HashName, Hash]> = [...needed].map((n) => [n, createHash(n)]);
    // Content alone (no hash): read no further than the prefix kept.
    const limit = Math.min(opts.limit ?? Infinity, hashers.length ? Infinity : (opts.keep ?? Infinity));
    const prefix = opts.keep !== undefined ? new Prefix(opts.keep, st.size) : undefined;
    // A regular file's size is known: one read of size+1 bytes both reads a small file and proves it ended there.
    const want = st.isFile() ? Math.min(st.size + 1, limit, CHUNK) : Math.min(limit, CHUNK);
    const buf = Buffer.allocUnsafe(Math.max(1, want));
    let total = 0;
    for (;;) {
      const ask = Math.min(buf.length, limit - total);
      if (ask <= 0) break;
      const { bytesRead } = await fh.read(buf, 0, ask, null);
      if (bytesRead === 0) break;
      const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      for (const [, h] of hashers) h.update(chunk);
      prefix?.add(chunk);
      total += bytesRead;
      // A short read of a regular file is its end (POSIX): saves the extra read that would return 0.
      if (st.isFile() && bytesRead < ask) break;
    }
    const hashes: Hashes = {};
    for (const [n, h] of hashers) hashes[n] = h.digest('hex');
    return { hashes, bytesRead: total, ...(prefix ? { prefix: prefix.get() } : {}) };
  } finally {
    await fh.close();
  }
}
