import { SandgateError, type Job } from '@sandgate/shared';
import { realClock, type Clock } from '../clock.ts';
import type { EventLog } from '../events/event-log.ts';
import { EventOutbox } from '../events/event-outbox.ts';
import { applyJobChange, finishedJob, type ActionType, type JobChange, type JobStore, type UnfinishedJob } from './job-store.ts';
import type { JobOutcome } from './object-queue.ts';

/**
 * The JobStore in memory, with the same rules as the disk one: a change and its events go together, an event is
 * logged once however often it is recorded, a finished or unknown job cannot be changed. For tests of the store's
 * users (the response actions), which then need no queue folder.
 */
export class MemoryJobStore implements JobStore {
  private readonly open = new Map<string, UnfinishedJob>();
  private readonly finished: Job[] = [];
  private readonly outbox: EventOutbox;
  private readonly clock: Clock;

  constructor(events: EventLog, clock: Clock = realClock) {
    this.outbox = new EventOutbox(events);
    this.clock = clock;
  }

  /** Puts an unfinished job in the store (what enqueue does on disk). */
  add(job: Job): void {
    this.open.set(job.jobId, { job, actionsStarted: [], outbox: [] });
  }

  /** Moves a job to the finished ones (what commit does on disk); without `outcome`, with what the job holds. */
  finish(jobId: string, outcome?: JobOutcome): Job {
    const e = this.entry(jobId);
    this.open.delete(jobId);
    const { verdict, actions, error } = e.job;
    const done = finishedJob(
      e.job,
      outcome ?? { ...(verdict ? { verdict } : {}), ...(actions ? { actions } : {}), ...(error ? { error } : {}) },
      this.clock.now(),
    );
    this.finished.push(done);
    return done;
  }

  get(jobId: string): Job | undefined {
    return this.open.get(jobId)?.job ?? this.finished.find((j) => j.jobId === jobId);
  }

  list(limit: number): Job[] {
    const unfinished = [...this.open.values()].map((e) => e.job).sort((a, b) => (a.acceptedAt < b.acceptedAt ? 1 : -1));
    return [...unfinished, ...[...this.finished].reverse()].slice(0, limit);
  }

  jobsFor(sha256: string): Job[] {
    return [...this.open.values()]
      .map((e) => e.job)
      .filter((j) => j.sha256 === sha256)
      .sort((a, b) => (a.acceptedAt < b.acceptedAt ? -1 : 1));
  }

  actionsStarted(jobId: string): readonly ActionType[] {
    return this.open.get(jobId)?.actionsStarted ?? [];
  }

  async update(jobId: string, change: JobChange): Promise<Job> {
    const next = applyJobChange(this.entry(jobId), jobId, change, this.clock.now());
    this.open.set(jobId, next);
    this.outbox.deliver(next.outbox);
    return next.job;
  }

  async relocate(jobId: string, fromPath: string, newPath: string): Promise<boolean> {
    const e = this.open.get(jobId);
    if (!e || e.job.path !== fromPath) return false;
    e.job = { ...e.job, path: newPath };
    return true;
  }

  private entry(jobId: string): UnfinishedJob {
    const e = this.open.get(jobId);
    if (!e) throw new SandgateError('JOB_NOT_FOUND', `No unfinished job ${jobId}`, { params: { jobId } });
    return e;
  }
}
