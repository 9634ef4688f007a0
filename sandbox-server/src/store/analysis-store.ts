import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { labAnalysisSchema, type LabAnalysis } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { TEMP_PREFIX, writeFileAtomic } from '@sandgate/shared/durable-write';

/**
 * Analyses on disk, one JSON file per SHA-256 (`<dir>/<sha256>.json`), each write a temp file renamed into place, so a
 * restart remembers every verdict and a crash never leaves half a file. The whole set is also held in memory: a
 * reference server's history is small, and lookups must not touch the disk.
 */
export class AnalysisStore {
  private readonly dir: string;
  private readonly bySha = new Map<string, LabAnalysis>();
  private readonly idToSha = new Map<string, string>();
  /** Writes of one analysis run in order, so an older state can never land after a newer one. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async open(dir: string, log: Logger): Promise<AnalysisStore> {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new AnalysisStore(dir);
    for (const name of await fsp.readdir(dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        await fsp.rm(join(dir, name), { force: true });
        continue;
      }
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      let parsed: ReturnType<typeof labAnalysisSchema.safeParse>;
      try {
        parsed = labAnalysisSchema.safeParse(JSON.parse(await fsp.readFile(join(dir, name), 'utf8')));
      } catch (err) {
        log.warn('analysis file unreadable, ignored', { file: name, err: String(err) });
        continue;
      }
      if (!parsed.success || `${parsed.data.sha256}.json` !== name) {
        log.warn('analysis file invalid, ignored', { file: name });
        continue;
      }
      store.bySha.set(parsed.data.sha256, parsed.data);
      store.idToSha.set(parsed.data.id, parsed.data.sha256);
    }
    return store;
  }

  getBySha(sha256: string): LabAnalysis | undefined {
    return this.bySha.get(sha256);
  }

  getById(id: string): LabAnalysis | undefined {
    const sha = this.idToSha.get(id);
    return sha === undefined ? undefined : this.bySha.get(sha);
  }

  all(): LabAnalysis[] {
    return [...this.bySha.values()];
  }

  /**
   * Records the analysis in memory at once (callers rely on this to claim a SHA-256 before any await) and returns a
   * promise for its durable write.
   */
  put(analysis: LabAnalysis): Promise<void> {
    const previous = this.bySha.get(analysis.sha256);
    if (previous && previous.id !== analysis.id) this.idToSha.delete(previous.id);
    this.bySha.set(analysis.sha256, analysis);
    this.idToSha.set(analysis.id, analysis.sha256);
    const path = join(this.dir, `${analysis.sha256}.json`);
    const body = JSON.stringify(analysis, null, 1) + '\n';
    const prior = this.writes.get(analysis.sha256) ?? Promise.resolve();
    const next = prior.catch(() => {}).then(() => writeFileAtomic(path, body, 0o600));
    this.writes.set(analysis.sha256, next);
    void next
      .finally(() => {
        if (this.writes.get(analysis.sha256) === next) this.writes.delete(analysis.sha256);
      })
      .catch(() => {});
    return next;
  }

  /** Resolves when every write started so far has landed (or failed). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }
}
