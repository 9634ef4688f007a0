import { randomBytes } from 'node:crypto';
import type { ActionResult, Job, Provenance, Verdict, WireError } from '@sandgate/shared';
import type { NewAgentEvent } from '../events/event-log.ts';
import { outboxEvent, type OutboxEvent } from '../events/event-outbox.ts';
import { sniffContent } from './sniff-content.ts';

export type ActionType = ActionResult['type'];

/** An event of a job, named by what it reports (`verdict`, `action:quarantine`…): each is written exactly once. */
export interface JobEvent {
  what: string;
  event: NewAgentEvent;
}

/** A change to an unfinished job, persisted together with the events it causes. */
export interface JobChange {
  job?: Partial<Pick<Job, 'state' | 'verdict' | 'actions' | 'error'>>;
  /** A response action about to run (marked before it runs, so a crash never runs it twice). */
  actionStarted?: ActionType;
  events?: JobEvent[];
}

/**
 * What is known about each job, unfinished and finished, apart from the objects in the queue (object-queue.ts): what
 * response actions, the router and the CLI read and change. RequestQueue keeps it on disk with the queue;
 * MemoryJobStore keeps it in memory for tests of its users.
 */
export interface JobStore {
  get(jobId: string): Job | undefined;
  /** Unfinished and finished jobs, newest first. */
  list(limit: number): Job[];
  /** The unfinished jobs for an object, oldest first. */
  jobsFor(sha256: string): Job[];
  /** Response actions already begun for a job. */
  actionsStarted(jobId: string): readonly ActionType[];
  /**
   * Persists progress on an unfinished job with the events it causes, logged once the change is durable and never
   * twice (an event already recorded is not repeated). JOB_NOT_FOUND for a job that is finished or unknown.
   */
  update(jobId: string, change: JobChange): Promise<Job>;
  /**
   * Records that an unfinished job's original now lives at `newPath`; false when the job is finished or unknown, or
   * its original is not at `fromPath`.
   */
  relocate(jobId: string, fromPath: string, newPath: string): Promise<boolean>;
}

/** What a store keeps of an unfinished job, whether on disk (a queue record) or in memory. */
export interface UnfinishedJob {
  job: Job;
  actionsStarted: ActionType[];
  outbox: OutboxEvent[];
}

/**
 * The one rule for changing an unfinished job, shared by both stores: the job's fields merged, an action marked begun
 * once, and each event added to the outbox once (an event already recorded, by its id, is not added again).
 */
export function applyJobChange<R extends UnfinishedJob>(rec: R, jobId: string, change: JobChange, now: Date): R {
  const added = (change.events ?? [])
    .map((e) => outboxEvent(jobId, e.what, { ...e.event, jobId }, now))
    .filter((e) => !rec.outbox.some((o) => o.eventId === e.eventId));
  return {
    ...rec,
    job: { ...rec.job, ...change.job },
    actionsStarted:
      change.actionStarted && !rec.actionsStarted.includes(change.actionStarted)
        ? [...rec.actionsStarted, change.actionStarted]
        : rec.actionsStarted,
    outbox: added.length ? [...rec.outbox, ...added] : rec.outbox,
  };
}

/** A job just accepted for `path`, whose bytes (`size`, starting with `head`) hash to `sha256`. */
export function newQueuedJob(path: string, provenance: Provenance, bytes: { sha256: string; size: number; head: Buffer }, now: Date): Job {
  return {
    jobId: `j_${now.getTime().toString(36)}${randomBytes(6).toString('hex')}`,
    state: 'queued',
    path,
    sha256: bytes.sha256,
    size: bytes.size,
    provenance,
    acceptedAt: now.toISOString(),
    content: sniffContent(bytes.head, path),
  };
}

/** A job as it is finished by both stores: `error` makes it an `error` job, otherwise `done`; an earlier error goes. */
export function finishedJob(job: Job, outcome: { verdict?: Verdict; actions?: ActionResult[]; error?: WireError }, now: Date): Job {
  const { error: _previous, ...rest } = job;
  return {
    ...rest,
    state: outcome.error ? 'error' : 'done',
    finishedAt: now.toISOString(),
    ...(outcome.verdict ? { verdict: outcome.verdict } : {}),
    ...(outcome.actions ? { actions: outcome.actions } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}
