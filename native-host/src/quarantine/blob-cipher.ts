import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SandgateError } from '@sandgate/shared';
import { inlineDigests, workerDigests, PARALLEL_MIN_BYTES, type ChunkDigests, type DigestName } from './parallel-digests.ts';
import { writeBehind } from './write-behind.ts';

/**
 * Blob format: "SGQB" | 0x01 | 96-bit IV | AES-256-GCM ciphertext | 128-bit tag. The item id is the additional
 * authenticated data, so a blob renamed to another item's id fails authentication.
 */
const MAGIC = Buffer.from('SGQB\x01', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + IV_BYTES;
const CHUNK = 1024 * 1024;
/**
 * The cipher is fed a read chunk in pieces of this size: each update() allocates its output, and large outputs are
 * fresh mappings that cost page faults every time (measured here, 256 MiB through AES-256-GCM: 1 MiB updates spend
 * about twice the CPU of 16 KiB ones, most of it in the kernel). 64 KiB pieces are faster in a loop that drops each
 * output at once, but not here, where a chunk's outputs wait to be written: quarantine and restore of 256 MiB, run
 * alternately, took more time and CPU with 64 KiB pieces than with 16 KiB ones.
 */
const PIECE = 16 * 1024;

/** Runs `fn` over `buf[0, length)` in PIECE-sized pieces and returns the outputs in order. */
function inPieces(buf: Buffer, length: number, fn: (piece: Buffer) => Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < length; o += PIECE) {
    const b = fn(buf.subarray(o, Math.min(o + PIECE, length)));
    if (b.length) out.push(b);
  }
  return out;
}

const aad = (id: string) => Buffer.from(`sandgate-quarantine-blob-v1\0${id}`);

export interface ContentDigests {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
}

/** Which digests each worker computes for a large object: MD5 (the slowest) alone, SHA-256 with SHA-1 beside it. */
const WORKER_GROUPS: DigestName[][] = [['md5'], ['sha256', 'sha1']];

/**
 * Reads `src` once from offset 0, hashing and encrypting the very same bytes into `dst`. Memory stays at a few chunks.
 * An object of `sizeHint` ≥ PARALLEL_MIN_BYTES is hashed on worker threads while this thread encrypts and writes.
 * `whileHashing` (e.g. the blob's fsync) runs once every byte is written, while the digests finish.
 */
export async function encryptFromHandle(
  src: FileHandle,
  dst: FileHandle,
  key: Buffer,
  id: string,
  sizeHint = 0,
  whileHashing: () => Promise<void> = async () => {},
): Promise<ContentDigests> {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(id));
  const digests = sizeHint >= PARALLEL_MIN_BYTES ? workerDigests(WORKER_GROUPS, CHUNK) : inlineDigests(['sha256', 'sha1', 'md5'], CHUNK);
  const out = writeBehind(dst);
  try {
    await out.queue([MAGIC, iv]);
    let pos = 0;
    for (;;) {
      const slot = await digests.slot();
      const { bytesRead } = await src.read(slot.buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      // The cipher and the digests get the same bytes: the slot is not refilled until every digest has read it.
      const sealed = inPieces(slot.buf, bytesRead, (piece) => cipher.update(piece));
      slot.submit(bytesRead);
      // Write-behind: this chunk's ciphertext is written while the next is read and encrypted.
      await out.queue(sealed);
      pos += bytesRead;
    }
    await out.queue([cipher.final(), cipher.getAuthTag()]);
    await out.flush();
    // The blob's fsync runs while the digests (on workers) catch up with the last chunks.
    const [hex] = await Promise.all([digests.digest(), whileHashing()]);
    return { sha256: hex.sha256, sha1: hex.sha1, md5: hex.md5, size: pos };
  } finally {
    await out.settle();
    await digests.close();
  }
}

/**
 * Decrypts a stored blob, handing plaintext to `sink` (the pieces of one read, in order) and returning the SHA-256 of
 * the plaintext. GCM only
 * authenticates at the end, so callers must treat what the sink received as untrusted until this resolves.
 * Any authentication or format failure is QUARANTINE_ITEM_CORRUPT. A large blob's SHA-256 is computed on a worker
 * thread while this thread decrypts and the sink writes.
 */
export async function decryptBlob(
  blobPath: string,
  key: Buffer,
  id: string,
  sink: (pieces: Buffer[]) => Promise<void> = async () => {},
): Promise<{ sha256: string; size: number }> {
  let digests: ChunkDigests | undefined;
  try {
    const { size } = await decryptEach(blobPath, key, id, async (pieces, blobSize) => {
      digests ??= blobSize >= PARALLEL_MIN_BYTES ? workerDigests([['sha256']], CHUNK) : inlineDigests(['sha256'], CHUNK);
      const slot = await digests.slot();
      let n = 0;
      for (const p of pieces) n += p.copy(slot.buf, n);
      slot.submit(n);
      await sink(pieces);
    });
    digests ??= inlineDigests(['sha256'], CHUNK);
    const { sha256 } = await digests.digest();
    return { sha256, size };
  } finally {
    await digests?.close();
  }
}

/**
 * Decrypts a stored blob into `sink` (the pieces of one read, in order) without hashing the plaintext, and returns its
 * size. GCM authenticates only at the end, so what the sink received is verified only once this resolves: the tag
 * verifies iff the stored bytes are exactly the ciphertext encryptFromHandle produced under this item's key and id,
 * from the very bytes it hashed (see docs/decisions.md: why this verifies the content as well as hashing it again
 * would). Any authentication or format failure is QUARANTINE_ITEM_CORRUPT.
 */
export function decryptAuthenticated(
  blobPath: string,
  key: Buffer,
  id: string,
  sink: (pieces: Buffer[]) => Promise<void>,
): Promise<{ size: number }> {
  return decryptEach(blobPath, key, id, sink);
}

/** Checks a stored blob's authentication tag: decrypts it to nowhere and returns the plaintext size. */
export async function verifyBlobTag(blobPath: string, key: Buffer, id: string): Promise<{ size: number }> {
  return decryptEach(blobPath, key, id, async () => {});
}

async function decryptEach(
  blobPath: string,
  key: Buffer,
  id: string,
  sink: (pieces: Buffer[], blobSize: number) => Promise<void>,
): Promise<{ size: number }> {
  const corrupt = (why: string, cause?: unknown) =>
    new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: ${why}`, { params: { id }, cause });
  let fh: FileHandle;
  try {
    fh = await fsp.open(blobPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw corrupt(`its content cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size < HEADER_BYTES + TAG_BYTES) throw corrupt('its content is truncated');
    const header = Buffer.alloc(HEADER_BYTES);
    await fh.read(header, 0, HEADER_BYTES, 0);
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('its content has an unknown format');
    const tag = Buffer.alloc(TAG_BYTES);
    await fh.read(tag, 0, TAG_BYTES, st.size - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(MAGIC.length));
    decipher.setAAD(aad(id));
    decipher.setAuthTag(tag);
    const end = st.size - TAG_BYTES;
    // Read-ahead: the next chunk is read while this one is decrypted and handed on.
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let which = 0;
    let pos = HEADER_BYTES;
    let size = 0;
    const readAt = (b: Buffer, at: number) => {
      const p = at < end ? fh.read(b, 0, Math.min(CHUNK, end - at), at).then((r) => r.bytesRead) : Promise.resolve(0);
      p.catch(() => {});
      return p;
    };
    let reading = readAt(bufs[which]!, pos);
    while (pos < end) {
      const bytesRead = await reading;
      if (bytesRead === 0) throw corrupt('its content is truncated');
      const buf = bufs[which]!;
      pos += bytesRead;
      which ^= 1;
      reading = readAt(bufs[which]!, pos);
      const plain = inPieces(buf, bytesRead, (piece) => decipher.update(piece));
      const n = plain.reduce((k, b) => k + b.length, 0);
      size += n;
      if (n) await sink(plain, st.size);
    }
    await reading;
    let last: Buffer;
    try {
      last = decipher.final();
    } catch (err) {
      throw corrupt('its content was modified (authentication failed)', err);
    }
    if (last.length) {
      size += last.length;
      await sink([last], st.size);
    }
    return { size };
  } finally {
    await fh.close();
  }
}
