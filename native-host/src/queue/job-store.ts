import type { ActionResult, Job } from '@sandgate/shared';
import type { NewAgentEvent } from '../events/event-log.ts';

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
