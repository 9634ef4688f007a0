import type { Stats } from 'node:fs';
import type { ScanMatch, ScanOutput, ScanSummary } from '@sandgate/shared';
import type { HashName, Observation } from '../ioc/observation.ts';
import type { IndicatorMatch, IndicatorSet } from '../ioc/indicator-set.ts';
import type { CpuBudget } from './cpu-budget.ts';
import type { HashFileOptions } from './file-hasher.ts';
import { HashCache, fileFacts, fileObservation, type LazyFileObservation, type ReadCounters } from './file-observation.ts';

const SHA256_ONLY: ReadonlySet<HashName> = new Set<HashName>(['sha256']);

export type IndicatorSource = 'ioc' | 'verdict';

export interface ScanSessionOptions {
  indicators: ReadonlyArray<{ set: IndicatorSet; source: IndicatorSource }>;
  maxFileBytes: number;
  /** Files read at the same time (default 4). */
  concurrency?: number;
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
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly t0: number;
  private lastPace: number;
  private lastProgress = -Infinity;
  private current = '';

  constructor(opts: ScanSessionOptions) {
    this.opts = opts;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.now = opts.now ?? (() => performance.now());
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
      ...(f.readPath ? { readPath: f.readPath } : {}),
      ...(f.hashOptions ? { hashOptions: f.hashOptions } : {}),
    });
    await this.schedule(async () => {
      for (const s of live) {
        const found = await s.set.match(obs);
        // A match decided by content (YARA) or by name carries the file's SHA-256 all the same, read after the match
        // (matches are few): reports name it, and a task may act only on bytes it can tie to the match by that hash.
        if (found.length && obs.known().sha256 === undefined) await obs.hashes(SHA256_ONLY).catch(() => undefined);
        for (const m of found)
          this.record(m, s.source, {
            document: 'FileItem',
            path: f.path,
            area: f.area,
            origin: f.origin,
            pid: f.pid,
            sha256: obs.known().sha256,
          });
      }
    }, f.path);
  }

  /** A file's observation sharing this scan's hash cache and counters, e.g. a process's image for ProcessItem terms. */
  lazyFile(f: FileCheck): LazyFileObservation {
    return fileObservation({
      path: f.path,
      stat: f.stat,
      area: f.area,
      cache: this.cache,
      counters: this.counters,
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
    await this.schedule(async () => {
      for (const s of sets) for (const m of await s.set.match(o)) this.record(m, s.source, { document: o.document, ...where });
    }, where.path);
  }

  /** An area or object that could not be examined: listed in the result, never silently dropped. */
  note(area: string, what: string, reason: string): void {
    // A mount point is named both by the scope (left out) and by the walk (met on the way): say it once.
    if (this.notExamined.some((n) => n.what === what)) return;
    this.notExamined.push({ area, what, reason });
  }

  error(path: string, err: unknown): void {
    this.counters.errors++;
    const e = err as NodeJS.ErrnoException;
    if (this.errors.length < (this.opts.maxErrorsListed ?? 100))
      this.errors.push({ path, code: e?.code ?? 'ERROR', message: e?.message ?? String(err) });
  }

  /** Waits for every read in flight. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.race(this.inFlight);
    this.counters.throttledMs = Math.round(this.opts.budget?.sleptMs ?? 0);
    this.counters.elapsedMs = Math.round(this.now() - this.t0);
    this.opts.onProgress?.(this.counters, '');
  }

  private record(
    m: IndicatorMatch,
    source: IndicatorSource,
    where: Omit<ScanMatch, 'source' | 'iocId' | 'file' | 'terms' | 'description' | 'format'>,
  ): void {
    this.counters.matches++;
    const clean = Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined)) as typeof where;
    this.matches.push({
      ...clean,
      source,
      ...(m.format ? { format: m.format } : {}),
      iocId: m.iocId,
      file: m.file,
      terms: m.terms,
      ...(m.description ? { description: m.description } : {}),
    });
  }

  private async schedule(task: () => Promise<void>, path: string): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    const p: Promise<void> = task()
      .catch((err) => this.error(path, err))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    await this.tick();
  }

  private async tick(): Promise<void> {
    const t = this.now();
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
