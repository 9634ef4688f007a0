import { SandgateError, type Job } from '@sandgate/shared';
import { realClock, type Clock } from '../clock.ts';
import type { EventLog } from '../events/event-log.ts';
import { EventOutbox, outboxEvent, type OutboxEvent } from '../events/event-outbox.ts';
import type { ActionType, JobChange, JobStore } from './job-store.ts';

interface Entry {
  job: Job;
  actionsStarted: ActionType[];
  outbox: OutboxEvent[];
}

/**
 * The JobStore in memory, with the same rules as the disk one: a change and its events go together, an event is
 * logged once however often it is recorded, a finished or unknown job cannot be changed. For tests of the store's
 * users (the response actions), which then need no queue folder.
 */
export class MemoryJobStore implements JobStore {
  private readonly open = new Map<string, Entry>();
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

  /** Moves a job to the finished ones (what commit does on disk). */
  finish(jobId: string): Job {
    const e = this.entry(jobId);
    this.open.delete(jobId);
    const done: Job = { ...e.job, state: e.job.error ? 'error' : 'done', finishedAt: this.clock.now().toISOString() };
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
    const e = this.entry(jobId);
    const now = this.clock.now();
    const added = (change.events ?? [])
      .map((ev) => outboxEvent(jobId, ev.what, { ...ev.event, jobId }, now))
      .filter((ev) => !e.outbox.some((o) => o.eventId === ev.eventId));
    e.job = { ...e.job, ...change.job };
    if (change.actionStarted && !e.actionsStarted.includes(change.actionStarted))
      e.actionsStarted = [...e.actionsStarted, change.actionStarted];
    e.outbox = [...e.outbox, ...added];
    this.outbox.deliver(e.outbox);
    return e.job;
  }

  async relocate(jobId: string, fromPath: string, newPath: string): Promise<boolean> {
    const e = this.open.get(jobId);
    if (!e || e.job.path !== fromPath) return false;
    e.job = { ...e.job, path: newPath };
    return true;
  }

  private entry(jobId: string): Entry {
    const e = this.open.get(jobId);
    if (!e) throw new SandgateError('JOB_NOT_FOUND', `No unfinished job ${jobId}`, { params: { jobId } });
    return e;
  }
}
