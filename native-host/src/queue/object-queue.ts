import type { ActionResult, Job, Provenance, Verdict, WireError } from '@sandgate/shared';
import type { JobEvent } from './job-store.ts';

// The queue as its users see it, four verbs as in Velociraptor's ring buffer: enqueue an object, lease the oldest one
// nobody is working on, commit each of its jobs with its outcome, or roll the lease back unfinished. What is known
// about each job lives in the JobStore (job-store.ts), apart from the objects.

/** All unfinished jobs for one object (one SHA-256): analysed once, every job gets the verdict. */
export interface Lease {
  sha256: string;
  objectPath: string;
  size: number;
  jobs: Job[];
}

export interface QueueStats {
  objects: number;
  bytes: number;
  limitBytes: number;
}

/** What finishing a job records. `error` makes it an `error` job; otherwise it is `done`. */
export interface JobOutcome {
  verdict?: Verdict;
  actions?: ActionResult[];
  error?: WireError;
}

export interface ObjectQueue {
  /**
   * Copies `path` into the queue and records its job, durably, before answering. When the same object is already
   * waiting, the new job joins it. `events` are the job's first events, logged once the job is durable.
   */
  enqueue(path: string, provenance: Provenance, events?: (job: Job) => JobEvent[]): Promise<Job>;
  /** The oldest object nobody is working on, with all its jobs; undefined when there is none. */
  lease(): Lease | undefined;
  /** Finishes one job of a leased object; the object goes when its last job is committed. */
  commit(jobId: string, outcome: JobOutcome): Promise<Job>;
  /** Gives a leased object back unfinished: its jobs stay queued and it will be leased again. */
  rollback(sha256: string): void;
  stats(): QueueStats;
  /** True from a refusal for lack of space until an object leaves the queue. */
  isFull(): boolean;
}
