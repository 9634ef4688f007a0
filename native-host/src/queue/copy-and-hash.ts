import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { SandgateError } from '@sandgate/shared';
import { SNIFF_BYTES } from './sniff-content.ts';

/** Writes one chunk; injectable so tests can make the disk fill up halfway. */
export type ChunkWriter = (dest: FileHandle, chunk: Buffer) => Promise<void>;

export const defaultChunkWriter: ChunkWriter = async (dest, chunk) => {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await dest.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
};

const CHUNK = 1024 * 1024;

/**
 * Copies exactly `size` bytes from the already-opened source into a new file at `destPath` (created 0600, never
 * overwriting), hashing them in the same pass: the hash names exactly the bytes that were queued. A source that turns
 * out longer or shorter than `size` changed under us (FILE_CHANGED). On any failure the destination is removed.
 * The first SNIFF_BYTES come back as `head`, so the content is named from the same bytes that were hashed and queued.
 * The copy's fsync is started, not awaited: `durable` settles when the copy is on disk (or, failing, removed), so the
 * caller can write the job's record meanwhile. The caller must await `durable` before it renames the copy into place.
 */
export async function copyAndHash(
  src: FileHandle,
  size: number,
  destPath: string,
  write: ChunkWriter = defaultChunkWriter,
): Promise<{ sha256: string; size: number; head: Buffer; durable: Promise<void> }> {
  const dest = await open(destPath, 'wx', 0o600);
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let copied = 0;
  let head = Buffer.alloc(0);
  try {
    for (;;) {
      // One byte more than expected is asked for so growth is detected without a second read.
      const want = Math.min(CHUNK, size - copied + 1);
      const { bytesRead } = await src.read(buf, 0, want, copied);
      if (bytesRead === 0) break;
      copied += bytesRead;
      if (copied > size) throw new SandgateError('FILE_CHANGED', 'The file grew while it was being read');
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
      await write(dest, chunk);
    }
    if (copied !== size) throw new SandgateError('FILE_CHANGED', 'The file shrank while it was being read');
  } catch (err) {
    throw await failed(dest, destPath, err);
  }
  const durable = dest.sync().then(
    () => dest.close(),
    async (err: unknown) => {
      throw await failed(dest, destPath, err);
    },
  );
  // Handled here too, so a caller that fails before awaiting it leaves no unhandled rejection behind.
  durable.catch(() => {});
  return { sha256: hash.digest('hex'), size: copied, head, durable };
}

async function failed(dest: FileHandle, destPath: string, err: unknown): Promise<SandgateError> {
  await dest.close().catch(() => {});
  await unlink(destPath).catch(() => {});
  if (err instanceof SandgateError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new SandgateError('QUEUE_IO', `The object could not be copied into the queue (${code ?? 'error'})`, {
    cause: err,
    params: { errno: code },
  });
}
