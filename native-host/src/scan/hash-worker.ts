/**
 * A hashing thread of a scan (`hash-pool.ts` starts it). It receives batches of files by path, each with the inode
 * the walk listed, and answers each batch with the hashes or the error of every file, in order. Every read goes
 * through `hashFileSync`, the same code the scan's own thread uses: same flags (no final link followed, no blocking on
 * a FIFO, no access-time update), same inode check, same errors. Blocking is fine here: this thread does nothing else.
 */
import { parentPort } from 'node:worker_threads';
import type { HashName } from '../ioc/observation.ts';
import { hashFileSync, type HashFileOptions, type Hashes } from './file-hasher.ts';

/** One file to read; `opts.keep`: the first bytes to send back too (YARA scans them on the scan's thread). */
export interface HashJob {
  path: string;
  needed: HashName[];
  opts: HashFileOptions;
}

export interface HashBatch {
  id: number;
  jobs: HashJob[];
}

export type HashOutcome =
  { ok: true; hashes: Hashes; bytesRead: number; prefix?: ArrayBuffer } | { ok: false; code: string; message: string };

export interface HashBatchResult {
  id: number;
  results: HashOutcome[];
}

function run(job: HashJob): HashOutcome {
  try {
    const r = hashFileSync(job.path, new Set(job.needed), job.opts);
    if (!r.prefix) return { ok: true, hashes: r.hashes, bytesRead: r.bytesRead };
    // A copy with a memory of its own, moved (not cloned) to the scan's thread: the prefix may share the
    // allocator's pool with other buffers, which must not be moved with it.
    const prefix = new ArrayBuffer(r.prefix.length);
    new Uint8Array(prefix).set(r.prefix);
    return { ok: true, hashes: r.hashes, bytesRead: r.bytesRead, prefix };
  } catch (err) {
    // The code and message the scan's own thread would have recorded for the same failure.
    const e = err as NodeJS.ErrnoException;
    return { ok: false, code: e?.code ?? 'ERROR', message: e?.message ?? String(err) };
  }
}

parentPort?.on('message', (batch: HashBatch) => {
  const answer: HashBatchResult = { id: batch.id, results: batch.jobs.map(run) };
  const moved = answer.results.flatMap((r) => (r.ok && r.prefix ? [r.prefix] : []));
  parentPort!.postMessage(answer, moved);
});
