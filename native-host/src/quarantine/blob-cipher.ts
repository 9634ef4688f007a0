import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SandgateError } from '@sandgate/shared';

/**
 * Blob format: "SGQB" | 0x01 | 96-bit IV | AES-256-GCM ciphertext | 128-bit tag. The item id is the additional
 * authenticated data, so a blob renamed to another item's id fails authentication.
 */
const MAGIC = Buffer.from('SGQB\x01', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + IV_BYTES;
const CHUNK = 1024 * 1024;

const aad = (id: string) => Buffer.from(`sandgate-quarantine-blob-v1\0${id}`);

export interface ContentDigests {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
}

/** Reads `src` once from offset 0, hashing and encrypting the very same bytes into `dst`. Memory stays at one chunk. */
export async function encryptFromHandle(src: FileHandle, dst: FileHandle, key: Buffer, id: string): Promise<ContentDigests> {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(id));
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  let out = 0;
  const write = async (b: Buffer) => {
    if (b.length === 0) return;
    await dst.write(b, 0, b.length, out);
    out += b.length;
  };
  await write(Buffer.concat([MAGIC, iv]));
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await src.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) break;
    const chunk = buf.subarray(0, bytesRead);
    sha256.update(chunk);
    sha1.update(chunk);
    md5.update(chunk);
    await write(cipher.update(chunk));
    pos += bytesRead;
  }
  await write(cipher.final());
  await write(cipher.getAuthTag());
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), md5: md5.digest('hex'), size: pos };
}

/**
 * Decrypts a stored blob, handing plaintext chunks to `sink` and returning the SHA-256 of the plaintext. GCM only
 * authenticates at the end, so callers must treat what the sink received as untrusted until this resolves.
 * Any authentication or format failure is QUARANTINE_ITEM_CORRUPT.
 */
export async function decryptBlob(blobPath: string, key: Buffer, id: string, sink: (chunk: Buffer) => Promise<void> = async () => {}): Promise<{ sha256: string; size: number }> {
  const corrupt = (why: string, cause?: unknown) => new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: ${why}`, { params: { id }, cause });
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
    const sha256 = createHash('sha256');
    const end = st.size - TAG_BYTES;
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = HEADER_BYTES;
    let size = 0;
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
      if (bytesRead === 0) throw corrupt('its content is truncated');
      pos += bytesRead;
      const plain = decipher.update(buf.subarray(0, bytesRead));
      sha256.update(plain);
      size += plain.length;
      await sink(plain);
    }
    let last: Buffer;
    try {
      last = decipher.final();
    } catch (err) {
      throw corrupt('its content was modified (authentication failed)', err);
    }
    if (last.length) {
      sha256.update(last);
      size += last.length;
      await sink(last);
    }
    return { sha256: sha256.digest('hex'), size };
  } finally {
    await fh.close();
  }
}
