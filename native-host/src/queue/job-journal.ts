import { open } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { jobSchema, type Job } from '@sandgate/shared';
import { readSealedLines, rewriteSealed, sealLine } from '../durable/sealed-lines.ts';

/**
 * The finished jobs, newest last, so `list-jobs` and `status` survive restarts. Sealed JSON lines (each with its
 * digest: durable/sealed-lines.ts) appended one write each: a crash tears at most the last line and a flipped byte
 * spoils one line; either is skipped on load. Lines from before sealing are still read (history, not a verdict). Bounded: it keeps the last `keep` jobs and rewrites
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
    const read = await readSealedLines(file, { legacy: true });
    j.lines = read.lines;
    // A job finished twice (a crash between journal and queue clean-up) keeps its last line.
    const byId = new Map<string, Job>();
    for (const raw of read.values) {
      const r = jobSchema.safeParse(raw);
      if (!r.success) continue;
      byId.delete(r.data.jobId);
      byId.set(r.data.jobId, r.data);
    }
    j.jobs = [...byId.values()].slice(-keep);
    // Rewritten sealed at once rather than appended after: a new line must not join a torn one and be lost with it.
    if (read.unclean) await j.compact();
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
      await fh.write(sealLine(job));
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
    await rewriteSealed(this.file, this.jobs);
    this.lines = this.jobs.length;
  }
}
