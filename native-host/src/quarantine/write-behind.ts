import type { FileHandle } from 'node:fs/promises';

/**
 * Writes batches of buffers to a file at increasing offsets while the caller prepares the next batch (encrypts or
 * decrypts it). A batch's position is fixed when it is queued and batches are written one after another, so the file
 * is the same as if each had been written in order; at most one batch is being written while the next is prepared.
 * The buffers of a queued batch must not change until the next `queue` or `flush` resolves.
 */
export interface WriteBehind {
  /** Waits for the batch queued before, then starts writing this one; rejects with that earlier batch's failure. */
  queue(batch: Buffer[]): Promise<void>;
  /** Waits for every queued batch; rejects if any failed (including a short write). */
  flush(): Promise<void>;
  /** Waits for every queued batch without throwing: for error paths, before the file is closed or removed. */
  settle(): Promise<void>;
  /** The offset the next batch will be written at. */
  readonly offset: number;
}

export function writeBehind(fh: FileHandle, start = 0): WriteBehind {
  let offset = start;
  let writing: Promise<void> = Promise.resolve();
  return {
    async queue(batch) {
      await writing;
      const at = offset;
      const total = batch.reduce((n, b) => n + b.length, 0);
      if (total === 0) return;
      offset += total;
      writing = fh.writev(batch, at).then(({ bytesWritten }) => {
        if (bytesWritten !== total) throw new Error(`short write (${bytesWritten} of ${total} bytes)`);
      });
      // Handled here so a failure while the caller is elsewhere is not an unhandled rejection; flush() still throws it.
      writing.catch(() => {});
    },
    flush: () => writing,
    settle: () => writing.catch(() => {}),
    get offset() {
      return offset;
    },
  };
}
