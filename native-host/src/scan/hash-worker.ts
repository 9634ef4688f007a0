/**
 * A hashing thread of a scan (`hash-pool.ts` starts it). It receives batches of files by path, each with the inode
 * the walk listed, and answers each batch with the hashes or the error of every file, in order. Every read goes
 * through `hashFileSync`, the same code the scan's own thread uses: same flags (no final link followed, no blocking on
 * a FIFO, no access-time update), same inode check, same errors. Blocking is fine here: this thread does nothing else.
 */
import { parentPort } from 'node:worker_threads';
import type { HashName } from '../ioc/observation.ts';
import { hashFileSync, type HashFileOptions, type Hashes } from './file-hasher.ts';

/** One file to read. `opts` never carries `keep` (content stays on the scan's thread: see hash-pool.ts). */
export interface HashJob {
  path: string;
  needed: HashName[];
  opts: Omit<HashFileOptions, 'keep'>;
}

export interface HashBatch {
  id: number;
  jobs: HashJob[];
}

export type HashOutcome = { ok: true; hashes: Hashes; bytesRead: number } | { ok: false; code: string; message: string };

export interface HashBatchResult {
  id: number;
  results: HashOutcome[];
}

function run(job: HashJob): HashOutcome {
  try {
    const r = hashFileSync(job.path, new Set(job.needed), job.opts);
    return { ok: true, hashes: r.hashes, bytesRead: r.bytesRead };
  } catch (err) {
    // The code and message the scan's own thread would have recorded for the same failure.
    const e = err as NodeJS.ErrnoException;
    return { ok: false, code: e?.code ?? 'ERROR', message: e?.message ?? String(err) };
  }
}

parentPort?.on('message', (batch: HashBatch) => {
  const answer: HashBatchResult = { id: batch.id, results: batch.jobs.map(run) };
  parentPort!.postMessage(answer);
});
