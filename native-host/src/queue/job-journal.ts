import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { jobSchema, type Job } from '@sandgate/shared';
import { fsyncDir, tempName, TEMP_PREFIX } from './durable-write.ts';

/**
 * The finished jobs, newest last, so `list-jobs` and `status` survive restarts. JSON lines appended one write each:
 * a crash tears at most the last line, which is skipped on load. Bounded: it keeps the last `keep` jobs and rewrites
 * itself (temp file + rename) once twice that many lines have piled up.
 */
export class JobJournal {
  readonly file: string;
  private readonly keep: number;
  private jobs: Job[] = [];
  private lines = 0;

  private constructor(file: string, keep: number) {
    this.file = file;
    this.keep = keep;
  }

  static async open(file: string, keep = 500): Promise<JobJournal> {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const j = new JobJournal(file, keep);
    // A compaction cut short by a crash leaves a temp file; the journal itself is still whole.
    for (const name of await readdir(dirname(file))) {
      if (name.startsWith(TEMP_PREFIX)) await unlink(join(dirname(file), name)).catch(() => {});
    }
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // A job finished twice (a crash between journal and queue clean-up) keeps its last line.
    const byId = new Map<string, Job>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      j.lines++;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        continue;
      }
      const r = jobSchema.safeParse(raw);
      if (!r.success) continue;
      byId.delete(r.data.jobId);
      byId.set(r.data.jobId, r.data);
    }
    j.jobs = [...byId.values()].slice(-keep);
    return j;
  }

  has(jobId: string): boolean {
    return this.jobs.some((j) => j.jobId === jobId);
  }

  get(jobId: string): Job | undefined {
    return this.jobs.find((j) => j.jobId === jobId);
  }

  /** Newest first. */
  recent(limit: number): Job[] {
    return this.jobs.slice(-limit).reverse();
  }

  async append(job: Job): Promise<void> {
    const fh = await open(this.file, 'a', 0o600);
    try {
      await fh.write(JSON.stringify(job) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.jobs = this.jobs.filter((j) => j.jobId !== job.jobId);
    this.jobs.push(job);
    this.lines++;
    if (this.jobs.length > this.keep) this.jobs.splice(0, this.jobs.length - this.keep);
    if (this.lines > 2 * this.keep) await this.compact();
  }

  private async compact(): Promise<void> {
    const dir = dirname(this.file);
    const tmp = join(dir, tempName());
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(this.jobs.map((j) => JSON.stringify(j) + '\n').join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, basename(this.file)));
    await fsyncDir(dir);
    this.lines = this.jobs.length;
  }
}
