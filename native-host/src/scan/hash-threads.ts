import { hashFile } from './file-hasher.ts';
import type { HashReader } from './file-observation.ts';
import { HashPool } from './hash-pool.ts';

export interface HashThreadsOptions {
  /** Threads that read and hash files (`hash-pool.ts`; the runners choose with `hashThreadsFor`). 0: none. */
  threads: number;
  /** Reads made on the scan's thread before threads start (default `POOL_AFTER_READS`). */
  after?: number;
  /**
   * Threads pay only while they run beside the scan's thread. Every `POOL_CHECK_MS` the scan compares the CPU time the
   * process used with the wall time: below this many cores' worth (default 1.25), the threads are stopped and reads go
   * back to the scan's thread, which does the same work for less CPU time. They are tried again after `POOL_RETRY_MS`,
   * twice as long after each stop (at most `POOL_RETRY_MAX_MS`). 0: no checks.
   *
   * Not the load average: it lags a minute behind and counts this scan's own thread, so a second scan right after a
   * threaded one (or any scan after a build that just ended) found the machine "busy" and ran on one thread, with a
   * core idle (the IOC formats benchmark's runs took turns this way). A trial costs one check window on a busy
   * machine; the doubling wait bounds how often it is paid.
   */
  minCores?: number;
  now: () => number;
}

/** Reads on the scan's thread before hashing threads start (starting them costs about as much as this many reads). */
export const POOL_AFTER_READS = 1024;
const POOL_CHECK_MS = 1000;
const POOL_RETRY_MS = 30_000;
const POOL_RETRY_MAX_MS = 8 * 60_000;

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * A scan's hashing threads over its lifetime: when to start them, when they no longer pay, and the reader that uses
 * them while they run (`hashFile` on the scan's thread otherwise). Files handed to threads that are stopped are read
 * on the scan's thread, so the result never depends on when this happens.
 */
export class HashThreads {
  private readonly o: HashThreadsOptions;
  private pool: HashPool | undefined;
  private readsAsked = 0;
  private started = 0;
  private stopped = 0;
  private failure: string | undefined;
  /** Since when, and from what CPU time, the threads' worth is measured. */
  private window = { wall: 0, cpuMs: 0 };
  private retryAt = -Infinity;
  private retryMs = POOL_RETRY_MS;

  constructor(o: HashThreadsOptions) {
    this.o = o;
  }

  /** Reads a file for hashes: on the threads while they run, else on this thread. */
  readonly read: HashReader = (path, needed, opts) => {
    if (!this.pool && this.o.threads > 0 && ++this.readsAsked > (this.o.after ?? POOL_AFTER_READS) && this.o.now() >= this.retryAt)
      this.start();
    return this.pool ? this.pool.hash(path, needed, opts) : hashFile(path, needed, opts);
  };

  get running(): boolean {
    return this.pool !== undefined;
  }

  /** Hands what is queued to the threads (the scan is about to wait for results). */
  flush(): void {
    this.pool?.flush();
  }

  /** How many threads were started and stopped (0: every read on the scan's thread), and why a thread failed. */
  used(): { started: number; stopped: number; failure?: string } {
    const failure = this.pool?.failure?.message ?? this.failure;
    return { started: this.started, stopped: this.stopped, ...(failure ? { failure } : {}) };
  }

  /** Stops the threads when the process gets too little CPU for them to run beside the scan's thread. */
  check(t: number): void {
    const pool = this.pool;
    if (!pool || t - this.window.wall < POOL_CHECK_MS) return;
    const cpuMs = processCpuMs();
    const cores = (cpuMs - this.window.cpuMs) / (t - this.window.wall);
    this.window = { wall: t, cpuMs };
    if (cores >= (this.o.minCores ?? 1.25) && !pool.failure) return;
    this.pool = undefined;
    this.stopped += pool.threads;
    this.failure ??= pool.failure?.message;
    this.retryAt = t + this.retryMs;
    this.retryMs = Math.min(2 * this.retryMs, POOL_RETRY_MAX_MS);
    // Files the threads hold are read on this thread (close); their results are the same.
    void pool.close();
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private start(): void {
    this.pool = new HashPool(this.o.threads);
    this.started += this.o.threads;
    this.window = { wall: this.o.now(), cpuMs: processCpuMs() };
  }
}
