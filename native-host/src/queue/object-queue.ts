import type { Readable } from 'node:stream';
import type { ActionResult, Job, Provenance, Verdict, WireError } from '@sandgate/shared';
import type { JobEvent } from './job-store.ts';

// The queue as its users see it, four verbs as in Velociraptor's ring buffer: enqueue an object, lease the oldest one
// nobody is working on, commit each of its jobs with its outcome, or roll the lease back unfinished. What is known
// about each job lives in the JobStore (job-store.ts), apart from the objects.

/**
 * The bytes of a queued object as its reader gets them: never a path, so a sandbox client can only send what the queue
 * holds under this SHA-256, whether the queue keeps it on disk or in memory.
 */
export interface ObjectBody {
  /** Exactly how many bytes `open` yields: the size that was hashed when the object was queued. */
  readonly size: number;
  /**
   * A fresh stream of the object each call (a retried upload reads it again). It fails, instead of ending, when the
   * stored copy holds more or fewer than `size` bytes.
   */
  open(): Readable;
}

/** All unfinished jobs for one object (one SHA-256): analysed once, every job gets the verdict. */
export interface Lease {
  sha256: string;
  body: ObjectBody;
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
