import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LabError } from '../lab-error.ts';

export interface ReceivedUpload {
  tempPath: string;
  sha256: string;
  size: number;
}

/**
 * Streams the request body into a new file in `incomingDir` while hashing it, so the object is never held in memory
 * and the hash is of exactly the bytes stored. The pipeline's back-pressure stops reading the socket while the disk
 * is behind. Anything but a complete body with the announced hash and length deletes the file and throws.
 */
export async function receiveUpload(req: IncomingMessage, opts: { incomingDir: string; expectedSha256: string; expectedSize: number }): Promise<ReceivedUpload> {
  const tempPath = join(opts.incomingDir, `${randomBytes(12).toString('hex')}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // O_EXCL | O_NOFOLLOW: a fresh random name that must not exist, and never a planted link.
  const fh = await fsp.open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await pipeline(req, tap, fh.createWriteStream());
  } catch (err) {
    await fsp.rm(tempPath, { force: true });
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (size !== opts.expectedSize) {
    await fsp.rm(tempPath, { force: true });
    throw new LabError(400, 'SIZE_MISMATCH', `received ${size} bytes, Content-Length said ${opts.expectedSize}`);
  }
  if (sha256 !== opts.expectedSha256) {
    await fsp.rm(tempPath, { force: true });
    throw new LabError(400, 'HASH_MISMATCH', `the received bytes hash to ${sha256}, not ${opts.expectedSha256}`);
  }
  return { tempPath, sha256, size };
}
