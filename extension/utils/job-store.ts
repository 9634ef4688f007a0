import { jobRecordSchema, type JobRecord } from './job-record.ts';
import type { StorageAreaLike } from './storage-area.ts';
import { JOBS_KEY, MAX_JOBS } from './storage-keys.ts';

/**
 * Captured downloads in `storage.local` so they survive service-worker restarts. Every change is a read-modify-write
 * of one key, so changes are serialised here: two job updates landing together must not lose each other.
 */
export class JobStore {
  readonly #area: StorageAreaLike;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(area: StorageAreaLike) {
    this.#area = area;
  }

  /** Newest capture first. */
  async list(): Promise<JobRecord[]> {
    return sortNewestFirst([...(await this.#read()).values()]);
  }

  async get(downloadId: number): Promise<JobRecord | undefined> {
    return (await this.#read()).get(downloadId);
  }

  /**
   * Runs `mutate` on the current records and writes the result back, in order with every other change.
   * `mutate` edits the map in place and may return a value.
   */
  update<T>(mutate: (jobs: Map<number, JobRecord>) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const jobs = await this.#read();
      const result = mutate(jobs);
      await this.#area.set({ [JOBS_KEY]: serialise(jobs) });
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #read(): Promise<Map<number, JobRecord>> {
    const raw = (await this.#area.get(JOBS_KEY))[JOBS_KEY];
    return parseJobs(raw);
  }
}

/** Reads whatever is stored, dropping entries an older or newer build wrote in another shape. */
export function parseJobs(raw: unknown): Map<number, JobRecord> {
  const jobs = new Map<number, JobRecord>();
  if (typeof raw !== 'object' || raw === null) return jobs;
  for (const value of Object.values(raw)) {
    const parsed = jobRecordSchema.safeParse(value);
    if (parsed.success) jobs.set(parsed.data.downloadId, parsed.data);
  }
  return jobs;
}

function sortNewestFirst(records: JobRecord[]): JobRecord[] {
  return records.sort((a, b) => b.capturedAt.localeCompare(a.capturedAt) || b.downloadId - a.downloadId);
}

function serialise(jobs: Map<number, JobRecord>): Record<string, JobRecord> {
  const kept = sortNewestFirst([...jobs.values()]).slice(0, MAX_JOBS);
  return Object.fromEntries(kept.map((r) => [String(r.downloadId), r]));
}
