import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** The digests the quarantine records. */
export type DigestName = 'sha256' | 'sha1' | 'md5';

/** Below this many bytes the digests are computed on the calling thread: starting workers would cost more. */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;

/** One chunk the caller fills; its bytes must not change until the next `slot()` call hands it out again. */
export interface DigestSlot {
  buf: Buffer;
  /** Hands the first `length` bytes of `buf` to the digests, in order after every chunk submitted before. */
  submit(length: number): void;
}

/**
 * SHA-256, SHA-1 and MD5 of a stream of chunks. The caller reads each chunk into a slot, uses those very bytes (e.g.
 * encrypts them) and submits the slot; the digests see exactly the bytes the caller used, in the same order, because
 * a slot is handed out again only after every digest has consumed it.
 */
export interface ChunkDigests {
  slot(): Promise<DigestSlot>;
  /** Waits for every submitted chunk and returns the hex digests. Stops the workers. */
  digest(): Promise<Record<DigestName, string>>;
  /** Stops the workers without a result (on error paths; safe to call twice or after digest()). */
  close(): Promise<void>;
}

/**
 * On the calling thread, for small objects: one reused buffer, hashed as soon as it is submitted.
 */
export function inlineDigests(names: readonly DigestName[], chunkBytes: number): ChunkDigests {
  const hashes = names.map((n) => createHash(n));
  const buf = Buffer.allocUnsafe(chunkBytes);
  const slot: DigestSlot = { buf, submit: (length) => hashes.forEach((h) => h.update(buf.subarray(0, length))) };
  return {
    slot: async () => slot,
    digest: async () => hexOf(names, hashes),
    close: async () => {},
  };
}

function hexOf(names: readonly DigestName[], hashes: Hash[]): Record<DigestName, string> {
  const out: Partial<Record<DigestName, string>> = {};
  names.forEach((n, i) => (out[n] = hashes[i]!.digest('hex')));
  return out as Record<DigestName, string>;
}

// Plain JavaScript so it runs the same whether the host runs TypeScript sources or compiled output.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = workerData.names.map((n) => createHash(n));
parentPort.on('message', (m) => {
  if (m.type === 'chunk') {
    const bytes = new Uint8Array(workerData.ring, m.offset, m.length);
    for (const h of hashes) h.update(bytes);
    parentPort.postMessage({ type: 'done', slot: m.slot });
  } else {
    parentPort.postMessage({ type: 'digests', hex: hashes.map((h) => h.digest('hex')) });
  }
});
`;

interface WorkerMessage {
  type: 'done' | 'digests';
  slot?: number;
  hex?: string[];
}

/**
 * On worker threads, for large objects: `groups` lists which digests each worker computes (e.g. [['md5'],
 * ['sha256', 'sha1']]), so the digests run beside the caller's own work on the other core. The chunks live in a
 * SharedArrayBuffer ring of `slots` chunks; memory stays at the ring whatever the object's size.
 */
export function workerDigests(groups: readonly (readonly DigestName[])[], chunkBytes: number, slots = 4): ChunkDigests {
  const ring = new SharedArrayBuffer(chunkBytes * slots);
  const pending = new Array<number>(slots).fill(0);
  const waiters = new Map<number, () => void>();
  let failure: Error | undefined;
  let next = 0;
  let closed = false;
  const results: (string[] | undefined)[] = groups.map(() => undefined);
  let onResults: (() => void) | undefined;
  const onFail: ((err: Error) => void)[] = [];

  const fail = (err: Error) => {
    failure ??= err;
    for (const f of onFail.splice(0)) f(failure);
  };
  const workers = groups.map((names, i) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring, names } });
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'done' && m.slot !== undefined) {
        pending[m.slot]! -= 1;
        if (pending[m.slot] === 0) waiters.get(m.slot)?.();
      } else if (m.type === 'digests') {
        results[i] = m.hex;
        if (results.every((r) => r !== undefined)) onResults?.();
      }
    });
    w.on('error', (err) => fail(err));
    w.on('exit', (code) => {
      if (!closed) fail(new Error(`a digest worker stopped (exit code ${code})`));
    });
    return w;
  });

  const guarded = <T>(wait: (resolve: (v: T) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure) return reject(failure);
      onFail.push(reject);
      wait(resolve);
    });

  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(workers.map((w) => w.terminate()));
  };

  return {
    async slot() {
      const index = next;
      next = (next + 1) % slots;
      if (pending[index]! > 0) {
        await guarded<void>((resolve) =>
          waiters.set(index, () => {
            waiters.delete(index);
            resolve();
          }),
        );
      }
      if (failure) throw failure;
      const offset = index * chunkBytes;
      const buf = Buffer.from(ring, offset, chunkBytes);
      return {
        buf,
        submit(length: number) {
          pending[index] = workers.length;
          for (const w of workers) w.postMessage({ type: 'chunk', slot: index, offset, length });
        },
      };
    },
    async digest() {
      try {
        await guarded<void>((resolve) => {
          onResults = resolve;
          for (const w of workers) w.postMessage({ type: 'end' });
        });
        const out: Partial<Record<DigestName, string>> = {};
        groups.forEach((names, i) => names.forEach((n, j) => (out[n] = results[i]![j])));
        return out as Record<DigestName, string>;
      } finally {
        await close();
      }
    },
    close,
  };
}
