import { z } from 'zod';
import { actionTypeSchema, jobSchema } from '@sandgate/shared';
import { outboxEventSchema } from '../events/event-outbox.ts';

/**
 * One accepted, unfinished job as it sits on disk (`<jobId>.job.json` beside `<sha256>.obj`). Read back at start-up,
 * so it is parsed like any untrusted input: a record that does not parse is set aside, never half-trusted.
 */
export const queueRecordSchema = z.object({
  format: z.literal(1),
  job: jobSchema,
  /**
   * Response actions whose run began. An action listed here without a result in `job.actions` was interrupted by a
   * crash; after a restart the action is asked what it got done and is run again only when it can prove the first run
   * changed nothing (see runResponseActions).
   */
  actionsStarted: z.array(actionTypeSchema).default([]),
  /** The event log's length when the job was accepted: every event of this job was appended after it. */
  logOffset: z.number().int().nonnegative().optional(),
  /**
   * The job's events, each written here with the change that caused it before it is appended to the event log (see
   * EventOutbox): after a crash, those not in the log are appended then, so each appears exactly once.
   */
  outbox: z.array(outboxEventSchema).max(64).default([]),
});
export type QueueRecord = z.infer<typeof queueRecordSchema>;

export const RECORD_SUFFIX = '.job.json';
export const OBJECT_SUFFIX = '.obj';
