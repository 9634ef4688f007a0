import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashName } from '../ioc/observation.ts';
import { hashFile, type HashFileOptions, type HashFileResult } from './file-hasher.ts';
import type { HashBatch, HashBatchResult, HashJob } from './hash-worker.ts';

/**
 * The hashing thread's module. Running from the TypeScript sources it is the file beside this one; running from the
 * bundle (scripts/build-cli.ts) it is the bundle's own entry `dist/bin/hash-worker.js`, and this code sits in
 * `dist/bin/` or `dist/chunks/`, one folder below `dist/` either way.
 */
export function hashWorkerUrl(from: string = import.meta.url): URL {
  return from.endsWith('.ts') ? new URL('./hash-worker.ts', from) : new URL('../bin/hash-worker.js', from);
}

/**
 * How many hashing threads a scan with this CPU budget uses: one per core when the budget allows at least two cores'
 * worth (on two cores: `--cpu-budget 100`), otherwise none. Threads add CPU time per file (a message per batch,
 * starting them, the kernel's locks shared between threads), so they pay only when they can run beside the scan's
 * thread; within one core's budget the scan's own thread is the cheaper reader.
 */
export function hashThreadsFor(cpuBudgetPercent: number, cores: number = availableParallelism()): number {
  return cores > 1 && (cores * Math.min(100, cpuBudgetPercent)) / 100 >= 2 ? cores : 0;
}

/** A batch is cut at this many files or bytes (by the size the walk saw), whichever comes first. */
const BATCH_FILES = 32;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches handed to one thread at a time: one being read, one waiting, so a thread never idles on a round trip. */
const BATCHES_PER_THREAD = 2;

interface Pending {
  job: HashJob;
  size: number;
  resolve: (r: HashFileResult) => void;
  reject: (e: unknown) => void;
}

interface Lane {
  worker: Worker;
  /** Batches sent and not yet answered, by id. */
  sent: Map<number, Pending[]>;
}

/**
 * Reads and hashes files on worker threads: the scan's thread walks and matches, these threads open, check, read and
 * hash. Work goes by path (the thread opens the file itself, with the inode the walk listed to check against), in
 * batches, so a message round trip is paid per batch rather than per file; results come back as hex digests. Memory:
 * each thread reuses one 1 MiB read buffer, and the caller bounds how many files are in flight.
 *
 * Content (`keep`, YARA's bytes) is read here too, in the same pass as the hashes, and moved back to the scan's thread
 * (not copied) with the batch's answer: the scan's thread then only runs YARA on it, while these threads read and hash
 * the next files, so a plan with both hash terms and YARA rules costs the larger of the two in wall time, not their sum.
 * The bytes in flight stay bounded by the caller (ScanSession counts a file's size while it is in flight). A thread
 * that fails (cannot start, crashes) stops
 * the pool: every file handed to it, and every later one, is read on the scan's thread instead, with the same result.
 */
export class HashPool {
  readonly threads: number;
  private readonly lanes: Lane[];
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private nextId = 0;
  private stopped = false;
  /** Files read by the threads (the others, on the scan's thread). */
  readOnThreads = 0;
  /** Why the pool stopped before it was closed (a thread failed), if it did. */
  failure: Error | undefined;

  constructor(threads: number, url: URL = hashWorkerUrl()) {
    this.threads = Math.max(1, threads);
    this.lanes = Array.from({ length: this.threads }, () => this.startLane(url));
  }

  /** Reads `path` once and returns every hash in `needed`, as `hashFile` would on this thread. */
  hash(path: string, needed: ReadonlySet<HashName>, opts: HashFileOptions = {}): Promise<HashFileResult> {
    if (this.stopped) return hashFile(path, needed, opts);
    const job: HashJob = {
      path,
      needed: [...needed],
      // Only what the thread needs, as plain data (a Stats object would be cloned whole).
      opts: {
        ...(opts.expect ? { expect: { dev: opts.expect.dev, ino: opts.expect.ino } } : {}),
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
        ...(opts.allowDevice ? { allowDevice: true } : {}),
        ...(opts.followLink ? { followLink: true } : {}),
        ...(opts.keep !== undefined ? { keep: opts.keep } : {}),
      },
    };
    return new Promise<HashFileResult>((resolve, reject) => {
      this.queue.push({ job, size: opts.sizeHint ?? 0, resolve, reject });
      this.queuedBytes += opts.sizeHint ?? 0;
      // A full batch goes at once; a partial one when this thread next waits (see flush), so a message carries many
      // files: sent one by one, the messages cost the scan's thread more than the reads they hand off.
      if (this.queue.length >= BATCH_FILES || this.queuedBytes >= BATCH_BYTES) this.flush(true);
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Hands queued files to threads with room for a batch. `fullOnly`: only full batches (more requests are coming).
   * The caller calls it before it waits for results; a partial batch otherwise goes once this thread's current work
   * yields to the event loop.
   */
  flush(fullOnly = false): void {
    if (!fullOnly) this.flushScheduled = false;
    while (this.queue.length && !this.stopped) {
      if (fullOnly && this.queue.length < BATCH_FILES && this.queuedBytes < BATCH_BYTES) return;
      let lane: Lane | undefined;
      for (const l of this.lanes) if (l.sent.size < BATCHES_PER_THREAD && (!lane || l.sent.size < lane.sent.size)) lane = l;
      if (!lane) return;
      let n = 0;
      let bytes = 0;
      while (n < this.queue.length && n < BATCH_FILES && (n === 0 || bytes < BATCH_BYTES)) bytes += this.queue[n++]!.size;
      const batch = this.queue.splice(0, n);
      this.queuedBytes -= bytes;
      const id = this.nextId++;
      if (lane.sent.size === 0) lane.worker.ref();
      lane.sent.set(id, batch);
      const message: HashBatch = { id, jobs: batch.map((p) => p.job) };
      lane.worker.postMessage(message);
    }
  }

  /** Stops the threads. Files still waiting (none after the scan drained) are read on this thread. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stop();
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }

  private startLane(url: URL): Lane {
    const worker = new Worker(url, { name: 'sandgate-scan-hash' });
    // An idle thread never keeps the process alive (a scan that forgot to close its pool still exits); a thread with
    // work is referenced while it has some (see flush and answer).
    worker.unref();
    const lane: Lane = { worker, sent: new Map() };
    worker.on('message', (m: HashBatchResult) => this.answer(lane, m));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`a hashing thread stopped (exit code ${code})`)));
    return lane;
  }

  private answer(lane: Lane, m: HashBatchResult): void {
    const batch = lane.sent.get(m.id);
    if (!batch) return;
    lane.sent.delete(m.id);
    if (lane.sent.size === 0) lane.worker.unref();
    batch.forEach((p, i) => {
      const r = m.results[i];
      if (r) this.readOnThreads++;
      if (r?.ok)
        p.resolve({
          hashes: r.hashes,
          bytesRead: r.bytesRead,
          ...(r.prefix ? { prefix: Buffer.from(r.prefix) } : {}),
        });
      else if (r) p.reject(Object.assign(new Error(r.message), { code: r.code }));
      else this.onThisThread(p);
    });
    this.flush();
  }

  private fail(err: Error): void {
    if (this.stopped) return;
    this.failure = err;
    this.stop();
    for (const l of this.lanes) void l.worker.terminate();
  }

  /** No more work goes to the threads; what they were given and what waits is read on this thread. */
  private stop(): void {
    this.stopped = true;
    const orphans = [...this.lanes.flatMap((l) => [...l.sent.values()].flat()), ...this.queue.splice(0)];
    this.queuedBytes = 0;
    for (const l of this.lanes) {
      l.sent.clear();
      l.worker.unref();
    }
    for (const p of orphans) this.onThisThread(p);
  }

  private onThisThread(p: Pending): void {
    hashFile(p.job.path, new Set(p.job.needed), { ...p.job.opts, sizeHint: p.size }).then(p.resolve, p.reject);
  }
}
