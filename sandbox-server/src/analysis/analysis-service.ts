import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LabAnalysis } from '@sandgate/shared';
import type { Engine } from '../engines/engine.ts';
import type { Logger } from '../log.ts';
import type { AnalysisStore } from '../store/analysis-store.ts';
import { AnalysisAborted, analyseObject } from './analyse-object.ts';
import { currentInputs } from './inputs-fingerprint.ts';

export interface ReceivedObject {
  /** A file the caller wrote and hashed; the service takes it over (moves or deletes it). */
  tempPath: string;
  sha256: string;
  size: number;
  fileName?: string;
}

interface Job {
  sha256: string;
  fileName?: string;
}

/**
 * Accepts received objects and analyses them one at a time in the background. One at a time keeps the lab's memory
 * bounded (each analysis holds at most one bounded YARA buffer) and a reference server needs no more.
 */
export class AnalysisService {
  private readonly store: AnalysisStore;
  private readonly engines: Engine[];
  private readonly objectsDir: string;
  private readonly delayMs: number;
  private readonly keepObjects: boolean;
  private readonly log: Logger;
  private readonly jobs: Job[] = [];
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  /** Long-poll waiters by analysis id, woken when that analysis ends (done or failed). */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(opts: { store: AnalysisStore; engines: Engine[]; objectsDir: string; delayMs?: number; keepObjects?: boolean; log: Logger }) {
    this.store = opts.store;
    this.engines = opts.engines;
    this.objectsDir = opts.objectsDir;
    this.delayMs = opts.delayMs ?? 0;
    this.keepObjects = opts.keepObjects ?? false;
    this.log = opts.log;
  }

  get engineNames(): string[] {
    return this.engines.map((e) => e.name);
  }

  /**
   * The analysis a look-up of `sha256` answers with. A finished verdict judged with other inputs than the current ones
   * (a blocklist entry or rule added since, another lab version) is never answered as it stands: with the object kept
   * (`keepObjects`) it is queued again and answered `queued`; without it the look-up finds nothing, so the client
   * uploads the object again and it is judged anew.
   */
  async lookup(sha256: string): Promise<LabAnalysis | undefined> {
    const inputs = await currentInputs(this.engines);
    const a = this.store.getBySha(sha256);
    if (!a || !isStale(a, inputs)) return a;
    return this.rejudge(a.sha256, inputs);
  }

  get(id: string): LabAnalysis | undefined {
    return this.store.getById(id);
  }

  /**
   * Resolves when the analysis `id` is done or failed, after `ms` at the latest, or when `signal` aborts (the client
   * went away). Lets a client long-poll instead of asking again and again.
   */
  async settled(id: string, ms: number, signal: AbortSignal): Promise<void> {
    const a = this.store.getById(id);
    if (!a || a.state === 'done' || a.state === 'failed' || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, set);
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        set.delete(finish);
        if (!set.size) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      signal.addEventListener('abort', finish, { once: true });
      set.add(finish);
    });
  }

  /**
   * An analysis that makes a new upload of this object unnecessary: queued, analysing, or done with the current inputs
   * (a failed one may be retried; a stale one is judged again from the new upload).
   */
  async known(sha256: string): Promise<LabAnalysis | undefined> {
    return this.current(sha256, await currentInputs(this.engines));
  }

  /**
   * Takes over a received object. A known object keeps its analysis and the new copy is dropped; otherwise the object
   * is queued. The SHA-256 is claimed synchronously (no await between the check and the claim), so two concurrent
   * uploads of one object make one analysis.
   */
  async accept(obj: ReceivedObject): Promise<LabAnalysis> {
    const inputs = await currentInputs(this.engines);
    const existing = this.current(obj.sha256, inputs);
    if (existing) {
      await fsp.rm(obj.tempPath, { force: true });
      return existing;
    }
    const previous = this.store.getBySha(obj.sha256);
    const analysis: LabAnalysis = {
      // A retried failed analysis keeps its id, so a client polling the old id sees the new result.
      id: previous?.id ?? randomUUID(),
      sha256: obj.sha256,
      size: obj.size,
      state: 'queued',
      submittedAt: new Date().toISOString(),
    };
    const written = this.store.put(analysis);
    try {
      await fsp.rename(obj.tempPath, this.objectPath(obj.sha256));
      await written;
    } catch (err) {
      await fsp.rm(obj.tempPath, { force: true });
      await this.store
        .put({
          ...analysis,
          state: 'failed',
          finishedAt: new Date().toISOString(),
          error: { code: 'ANALYSIS_FAILED', message: 'the object could not be stored' },
        })
        .catch(() => {});
      throw err;
    }
    this.enqueue({ sha256: obj.sha256, ...(obj.fileName ? { fileName: obj.fileName } : {}) });
    return analysis;
  }

  /** After a restart: queues what was interrupted, fails what lost its object. */
  async resume(): Promise<void> {
    for (const a of this.store.all()) {
      if (a.state !== 'queued' && a.state !== 'analysing') continue;
      const present = await fsp.lstat(this.objectPath(a.sha256)).then(
        (s) => s.isFile(),
        () => false,
      );
      if (present) {
        await this.store.put({ ...a, state: 'queued' });
        this.enqueue({ sha256: a.sha256 });
      } else {
        await this.store.put({
          ...a,
          state: 'failed',
          finishedAt: new Date().toISOString(),
          error: { code: 'ANALYSIS_FAILED', message: 'the object was lost before it was analysed; submit it again' },
        });
      }
    }
  }

  /** Stops analysing; an analysis cut short stays queued on disk and resumes on the next start. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
    await this.store.flush();
  }

  private current(sha256: string, inputs: string): LabAnalysis | undefined {
    const a = this.store.getBySha(sha256);
    return a && a.state !== 'failed' && !isStale(a, inputs) ? a : undefined;
  }

  /** Queues a stale verdict's kept object again (same id, so pollers follow); undefined when the object is gone. */
  private async rejudge(sha256: string, inputs: string): Promise<LabAnalysis | undefined> {
    const present =
      this.keepObjects &&
      (await fsp.lstat(this.objectPath(sha256)).then(
        (st) => st.isFile(),
        () => false,
      ));
    // Looked at again after the await: a concurrent look-up or upload may have queued it already.
    const a = this.store.getBySha(sha256);
    if (!a || !isStale(a, inputs)) return a;
    if (!present) return undefined;
    const fileName = a.verdict?.indicators.find((i) => i.type === 'file-name')?.value;
    const queued: LabAnalysis = { id: a.id, sha256, size: a.size, state: 'queued', submittedAt: new Date().toISOString() };
    await this.store.put(queued);
    this.log.info('judging again with changed rules or blocklist', { sha256 });
    this.enqueue({ sha256, ...(fileName ? { fileName } : {}) });
    return queued;
  }

  private objectPath(sha256: string): string {
    return join(this.objectsDir, sha256);
  }

  private enqueue(job: Job): void {
    this.jobs.push(job);
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (let job = this.jobs.shift(); job && !this.abort.signal.aborted; job = this.jobs.shift()) {
      await this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    const signal = this.abort.signal;
    let current = this.store.getBySha(job.sha256);
    if (!current) return;
    const id = current.id;
    try {
      if (this.delayMs > 0) await sleep(this.delayMs, undefined, { signal });
      current = { ...current, state: 'analysing' };
      await this.store.put(current);
      const { verdict, inputs } = await analyseObject(
        this.objectPath(job.sha256),
        { sha256: job.sha256, size: current.size, ...(job.fileName ? { fileName: job.fileName } : {}) },
        this.engines,
        signal,
      );
      await this.store.put({ ...current, state: 'done', finishedAt: new Date().toISOString(), verdict, inputs });
      this.log.info('analysed', { sha256: job.sha256, verdict: verdict.level, threat: verdict.threat });
    } catch (err) {
      if (err instanceof AnalysisAborted || signal.aborted) return;
      this.log.error('analysis failed', { sha256: job.sha256, err: err instanceof Error ? err.message : String(err) });
      await this.store
        .put({
          ...current,
          state: 'failed',
          finishedAt: new Date().toISOString(),
          error: { code: 'ANALYSIS_FAILED', message: 'the lab could not analyse the object' },
        })
        .catch(() => {});
    } finally {
      for (const wake of [...(this.waiters.get(id) ?? [])]) wake();
    }
    if (!this.keepObjects) await fsp.rm(this.objectPath(job.sha256), { force: true });
  }
}

/** A finished verdict judged with other inputs than `inputs` (or before the lab recorded them). */
function isStale(a: LabAnalysis, inputs: string): boolean {
  return a.state === 'done' && a.inputs !== inputs;
}
