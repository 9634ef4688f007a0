import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ObjectBody } from './object-queue.ts';

/**
 * The queued copy on disk, read in the stream's default 64 KiB chunks (1 MiB reads made a 1 GiB upload a third slower,
 * bench/submit-large.ts, 2026-11-22). The copy was hashed as it was written and nothing else writes the queue folder;
 * should it still hold more or fewer bytes than were hashed, the stream fails instead of ending (the byte past `size`
 * is never passed on), so the upload is cut off short of its Content-Length. The lab also checks the bytes it receives
 * against the SHA-256 sent with them (HASH_MISMATCH).
 */
export function fileBody(path: string, size: number): ObjectBody {
  return { size, open: () => Readable.from(exactly(path, size), { objectMode: false }) };
}

/** Bytes held in memory (MemoryObjectQueue, and tests of the sandbox clients that need no folder). */
export function bytesBody(bytes: Buffer): ObjectBody {
  return { size: bytes.length, open: () => Readable.from([bytes], { objectMode: false }) };
}

async function* exactly(path: string, size: number): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of createReadStream(path)) {
    read += (chunk as Buffer).length;
    if (read > size) throw new Error(`the queued copy holds more than the ${size} bytes that were hashed`);
    yield chunk as Buffer;
  }
  if (read !== size) throw new Error(`the queued copy holds ${read} bytes, not the ${size} that were hashed`);
}
