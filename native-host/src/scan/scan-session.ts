import type { Stats } from 'node:fs';
import type { ScanMatch, ScanOutput, ScanSummary } from '@sandgate/shared';
import type { HashName, Observation } from '../ioc/observation.ts';
import type { IndicatorMatch, IndicatorSet } from '../ioc/indicator-set.ts';
import type { CpuBudget } from './cpu-budget.ts';
import type { HashFileOptions } from './file-hasher.ts';
import { HashCache, fileFacts, fileObservation, type LazyFileObservation, type ReadCounters } from './file-observation.ts';
import { HashThreads } from './hash-threads.ts';

const SHA256_ONLY: ReadonlySet<HashName> = new Set<HashName>(['sha256']);

export type IndicatorSource = 'ioc' | 'verdict';

export interface ScanSessionOptions {
  indicators: ReadonlyArray<{ set: IndicatorSet; source: IndicatorSource }>;
  maxFileBytes: number;
  /** Files read at the same time (default 4 on the scan's thread; 256, and at most 64 MiB, once hashing threads run). */
  concurrency?: number;
  /**
   * Threads that read and hash files (`hash-threads.ts`; the runners choose with `hashThreadsFor`). Default 0: every
   * read on the scan's thread. `hashThreadsAfter` and `hashThreadsMinCores`: when they start and stop
   * (HashThreadsOptions `after`, `minCores`).
   */
  hashThreads?: number;
  hashThreadsAfter?: number;
  hashThreadsMinCores?: number;
  budget?: CpuBudget;
  /** Called at most every `progressEveryMs` with the running counters and the path at hand. */
  onProgress?: (summary: ScanSummary, current: string) => void;
  progressEveryMs?: number;
  /** How many errors are listed in the result (all are counted). */
  maxErrorsListed?: number;
  now?: () => number;
}

export interface FileCheck {
  path: string;
  stat: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtime' | 'mtimeMs'>;
  area: string;
  origin?: string;
  pid?: number;
  readPath?: string;
  hashOptions?: HashFileOptions;
}

/** How often the CPU budget is consulted. */
const PACE_EVERY_MS = 50;
/** With hashing threads: files in flight, and the bytes they may hold (so a pause or checkpoint waits little). */
const POOLED_IN_FLIGHT = 256;
const POOLED_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

/**
 * One scan's state: counters, matches, errors, the hash cache, and the bounded pool of reads in flight. File scopes
 * and the Critical Areas Scan both feed it objects; it decides from the cheap facts first (size limit, then each
 * indicator set's `plan`) and reads a file only when a hash could still decide, once, for every hash needed.
 */
export class ScanSession {
  readonly counters: ScanSummary & ReadCounters = {
    filesSeen: 0,
    skippedByPlan: 0,
    skippedTooLarge: 0,
    hashed: 0,
    bytesRead: 0,
    matches: 0,
    errors: 0,
    linksSkipped: 0,
    throttledMs: 0,
    elapsedMs: 0,
  };
  readonly matches: ScanMatch[] = [];
  readonly errors: ScanOutput['errors'] = [];
  readonly notExamined: ScanOutput['notExamined'] = [];
  readonly startedAt = new Date();
  private readonly opts: ScanSessionOptions;
  private readonly cache = new HashCache();
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  /** Called when a task in flight ends (schedule and drain wait on it). */
  private freed: Array<() => void> = [];
  /** Walk order of each recorded match: matches are listed in the order their objects were met, not read. */
  private readonly matchOrder: number[] = [];
  private readonly errorOrder: number[] = [];
  private order = 0;
  private readonly threads: HashThreads;
  private readonly now: () => number;
  private readonly t0: number;
  private lastPace: number;
  private lastProgress = -Infinity;
  private current = '';

  constructor(opts: ScanSessionOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.threads = new HashThreads({
      threads: Math.max(0, opts.hashThreads ?? 0),
      now: this.now,
      ...(opts.hashThreadsAfter !== undefined ? { after: opts.hashThreadsAfter } : {}),
      ...(opts.hashThreadsMinCores !== undefined ? { minCores: opts.hashThreadsMinCores } : {}),
    });
    this.t0 = this.now();
    this.lastPace = this.t0;
  }

  /** Checks one file; resolves once it is scheduled (reads are bounded, so this waits while the pool is full). */
  async checkFile(f: FileCheck): Promise<void> {
    this.counters.filesSeen++;
    this.current = f.path;
    const facts = fileFacts(f.path, f.stat, f.area);
    const planned = new Set<HashName>();
    let content = 0;
    const live: Array<{ set: IndicatorSet; source: IndicatorSource }> = [];
    for (const s of this.opts.indicators) {
      if (!s.set.documents.has('FileItem')) continue;
      const p = s.set.plan(facts);
      if (!p.possible) continue;
      live.push(s);
      for (const h of p.hashes) planned.add(h);
      content = Math.max(content, p.content ?? 0);
    }
    if (live.length === 0) {
      this.counters.skippedByPlan++;
      return this.tick();
    }
    // The limit bounds reading: a file that only needs its name or size to be decided is checked whatever its size, and
    // one that only needs its first bytes (YARA) is read no further than those.
    if (planned.size > 0 && f.stat.size > this.opts.maxFileBytes) {
      this.counters.skippedTooLarge++;
      return this.tick();
    }
    const obs = fileObservation({
      path: f.path,
      stat: f.stat,
      area: f.area,
      planned,
      ...(content > 0 ? { plannedContent: content } : {}),
      cache: this.cache,
      counters: this.counters,
      reader: this.threads.read,
      ...(f.readPath ? { readPath: f.readPath } : {}),
      ...(f.hashOptions ? { hashOptions: f.hashOptions } : {}),
    });
    const order = this.order++;
    await this.schedule(
      async () => {
        for (const s of live) {
          const found = await s.set.match(obs);
          // A match decided by content (YARA) or by name carries the file's SHA-256 all the same, read after the match
          // (matches are few): reports name it, and a task may act only on bytes it can tie to the match by that hash.
          if (found.length && obs.known().sha256 === undefined) await obs.hashes(SHA256_ONLY).catch(() => undefined);
          for (const m of found)
            this.record(m, s.source, order, {
              document: 'FileItem',
              path: f.path,
              area: f.area,
              origin: f.origin,
              pid: f.pid,
              sha256: obs.known().sha256,
            });
        }
      },
      f.path,
      planned.size > 0 || content > 0 ? f.stat.size : 0,
      order,
    );
  }

  /** A file's observation sharing this scan's hash cache and counters, e.g. a process's image for ProcessItem terms. */
  lazyFile(f: FileCheck): LazyFileObservation {
    return fileObservation({
      path: f.path,
      stat: f.stat,
      area: f.area,
      cache: this.cache,
      counters: this.counters,
      reader: this.threads.read,
      ...(f.readPath ? { readPath: f.readPath } : {}),
      ...(f.hashOptions ? { hashOptions: f.hashOptions } : {}),
    });
  }

  /** Checks an observation that is not a file (a process, a service…) against the sets that look at its document. */
  async checkObservation(
    o: Exclude<Observation, { document: 'FileItem' }>,
    where: { path: string; area: string; origin?: string; pid?: number },
  ): Promise<void> {
    const sets = this.opts.indicators.filter((s) => s.set.documents.has(o.document));
    if (sets.length === 0) return;
    const order = this.order++;
    await this.schedule(
      async () => {
        for (const s of sets) for (const m of await s.set.match(o)) this.record(m, s.source, order, { document: o.document, ...where });
      },
      where.path,
      0,
      order,
    );
  }

  /** An area or object that could not be examined: listed in the result, never silently dropped. */
  note(area: string, what: string, reason: string): void {
    // A mount point is named both by the scope (left out) and by the walk (met on the way): say it once.
    if (this.notExamined.some((n) => n.what === what)) return;
    this.notExamined.push({ area, what, reason });
  }

  /** Counts an error and lists it (the first `maxErrorsListed` in walk order; `order` defaults to "met just now"). */
  error(path: string, err: unknown, order: number = this.order): void {
    this.counters.errors++;
    const e = err as NodeJS.ErrnoException;
    const at = this.insertAt(this.errorOrder, order);
    if (at >= (this.opts.maxErrorsListed ?? 100)) return;
    this.errorOrder.splice(at, 0, order);
    this.errors.splice(at, 0, { path, code: e?.code ?? 'ERROR', message: e?.message ?? String(err) });
    if (this.errors.length > (this.opts.maxErrorsListed ?? 100)) {
      this.errors.pop();
      this.errorOrder.pop();
    }
  }

  /** The hashing threads of this scan: how many were started and stopped (0: none), and why one failed. */
  hashThreadsUsed(): { started: number; stopped: number; failure?: string } {
    return this.threads.used();
  }

  /** Waits for every read in flight. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await this.taskEnded();
    this.counters.throttledMs = Math.round(this.opts.budget?.sleptMs ?? 0);
    this.counters.elapsedMs = Math.round(this.now() - this.t0);
    this.opts.onProgress?.(this.counters, '');
  }

  /** Stops the hashing threads (after the last drain; an idle thread never keeps the process alive anyway). */
  async close(): Promise<void> {
    await this.threads.close();
  }

  private record(
    m: IndicatorMatch,
    source: IndicatorSource,
    order: number,
    where: Omit<ScanMatch, 'source' | 'iocId' | 'file' | 'terms' | 'description' | 'format'>,
  ): void {
    this.counters.matches++;
    const clean = Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined)) as typeof where;
    // Reads finish out of walk order (threads, large files): insert where the object was met.
    const at = this.insertAt(this.matchOrder, order);
    this.matchOrder.splice(at, 0, order);
    this.matches.splice(at, 0, {
      ...clean,
      source,
      ...(m.format ? { format: m.format } : {}),
      iocId: m.iocId,
      file: m.file,
      terms: m.terms,
      ...(m.description ? { description: m.description } : {}),
    });
  }

  /** Where `order` goes in an ascending list (after equal ones); usually at the end, so searched from there. */
  private insertAt(orders: readonly number[], order: number): number {
    let at = orders.length;
    while (at > 0 && orders[at - 1]! > order) at--;
    return at;
  }

  private async schedule(task: () => Promise<void>, path: string, bytes: number, order: number): Promise<void> {
    while (this.full()) await this.taskEnded();
    this.inFlightBytes += bytes;
    const p: Promise<void> = task()
      .catch((err) => this.error(path, err, order))
      .finally(() => {
        this.inFlight.delete(p);
        this.inFlightBytes -= bytes;
        for (const wake of this.freed.splice(0)) wake();
      });
    this.inFlight.add(p);
    await this.tick();
  }

  private full(): boolean {
    if (!this.threads.running) return this.inFlight.size >= Math.max(1, this.opts.concurrency ?? 4);
    if (this.inFlight.size >= Math.max(1, this.opts.concurrency ?? POOLED_IN_FLIGHT)) return true;
    return this.inFlight.size > 0 && this.inFlightBytes >= POOLED_IN_FLIGHT_BYTES;
  }

  /** Resolves when a task in flight ends (cheaper than racing every task in flight each time). */
  private taskEnded(): Promise<void> {
    // About to wait: whatever the threads have not been given yet goes now.
    this.threads.flush();
    return new Promise((resolve) => this.freed.push(resolve));
  }

  private async tick(): Promise<void> {
    const t = this.now();
    this.threads.check(t);
    if (this.opts.onProgress && t - this.lastProgress >= (this.opts.progressEveryMs ?? 100)) {
      this.lastProgress = t;
      this.counters.elapsedMs = Math.round(t - this.t0);
      this.opts.onProgress(this.counters, this.current);
    }
    if (this.opts.budget && t - this.lastPace >= PACE_EVERY_MS) {
      this.lastPace = t;
      await this.opts.budget.pace();
      this.counters.throttledMs = Math.round(this.opts.budget.sleptMs);
    }
  }
}
