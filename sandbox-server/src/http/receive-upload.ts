import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LabError } from '../lab-error.ts';
import type { UploadSlot } from '../limits/upload-gate.ts';

export interface ReceivedUpload {
  tempPath: string;
  sha256: string;
  size: number;
}

export interface ReceiveOptions {
  incomingDir: string;
  expectedSha256: string;
  expectedSize: number;
  /** The gate's slot for this upload: kept current with the bytes received, asked whether the disk still has room. */
  slot: UploadSlot;
  /** Fewer bytes than `minBytesPerSec` in any window of `windowMs` cuts the upload (408 UPLOAD_TOO_SLOW). */
  minBytesPerSec: number;
  windowMs: number;
}

const CUT_HEADERS = { connection: 'close' };

/**
 * Streams the request body into a new file in `incomingDir` while hashing it, so the object is never held in memory
 * and the hash is of exactly the bytes stored. The pipeline's back-pressure stops reading the socket while the disk
 * is behind. Anything but a complete body with the announced hash and length deletes the file and throws.
 *
 * A watchdog looks at the upload once per window: one that brought too few bytes (a slow-loris client holding a
 * connection and a file open for ever) or no longer fits on the disk is cut with a coded error. The request is then
 * unpiped rather than destroyed, so the refusal can still be written back before the connection closes.
 */
export async function receiveUpload(req: IncomingMessage, opts: ReceiveOptions): Promise<ReceivedUpload> {
  const tempPath = join(opts.incomingDir, `${randomBytes(12).toString('hex')}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      opts.slot.received = size;
      done(null, chunk);
    },
  });
  const cut = (err: Error) => {
    req.unpipe(tap);
    tap.destroy(err);
  };
  // O_EXCL | O_NOFOLLOW: a fresh random name that must not exist, and never a planted link.
  const fh = await fsp.open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  // The request is piped, not put in the pipeline, so that cutting the upload leaves the socket open for the answer;
  // a client that goes away still ends the pipeline through these two listeners.
  const onError = (err: Error) => cut(err);
  const onClose = () => {
    if (!req.complete) cut(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  };
  req.once('error', onError);
  req.once('close', onClose);
  const watchdog = watchProgress(opts, () => size, cut);
  req.pipe(tap);
  try {
    await pipeline(tap, fh.createWriteStream());
  } catch (err) {
    await fsp.rm(tempPath, { force: true });
    if (!req.destroyed) req.resume();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new LabError(
        507,
        'INSUFFICIENT_STORAGE',
        'the lab ran out of disk space while receiving the object; nothing of it was kept',
        CUT_HEADERS,
      );
    }
    throw err;
  } finally {
    watchdog.stop();
    req.off('error', onError);
    req.off('close', onClose);
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

/** Once per window: cut the upload if it brought too few bytes, or if the disk no longer has room for its rest. */
function watchProgress(opts: ReceiveOptions, received: () => number, cut: (err: Error) => void): { stop(): void } {
  const floor = (opts.minBytesPerSec * opts.windowMs) / 1000;
  let atLastTick = 0;
  let checking = false;
  const timer = setInterval(() => {
    const now = received();
    const brought = now - atLastTick;
    atLastTick = now;
    if (now < opts.expectedSize && brought < floor) {
      cut(
        new LabError(
          408,
          'UPLOAD_TOO_SLOW',
          `the upload brought ${brought} bytes in ${opts.windowMs} ms; the lab needs ${opts.minBytesPerSec} bytes per second`,
          CUT_HEADERS,
        ),
      );
      return;
    }
    if (checking) return;
    checking = true;
    opts.slot
      .roomLeft()
      .then((room) => {
        if (!room)
          cut(
            new LabError(
              507,
              'INSUFFICIENT_STORAGE',
              'the disk filled up while the object was being received; nothing of it was kept',
              CUT_HEADERS,
            ),
          );
      })
      .catch(() => {})
      .finally(() => {
        checking = false;
      });
  }, opts.windowMs);
  return { stop: () => clearInterval(timer) };
}
