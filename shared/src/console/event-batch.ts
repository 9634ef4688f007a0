import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { agentEventSchema } from '../log/agent-event.ts';

/** The most events one `POST /agent/v1/events` may carry. */
export const MAX_EVENTS_PER_BATCH = 500;

/**
 * One event of the agent's event log, with its sequence number: the byte offset of its line in the append-only log.
 * Sequence numbers only grow, so the console stores each (agent, seq) once and a batch re-sent after a lost answer
 * changes nothing. @since 1
 */
export const shippedEventSchema = lazySchema(() =>
  z.object({
    seq: z.number().int().nonnegative(),
    event: agentEventSchema,
    /**
     * On a `verdict` event with level `malicious`: the OpenIOC 1.1 document the agent generated for the object (its
     * hashes under its size, its name), which the console hands to the group's other workstations. @since 1 (group actions)
     */
    ioc: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), xml: z.string().max(256 * 1024) }).optional(),
    /**
     * On a `verdict` event with level `malicious`: what the agent read of the object besides its SHA-256 (the event's
     * `sha256`). The console builds the group task's indicators from these facts itself; they stay the agent's claim
     * (a wrong size or MD5 only makes the task miss, or report a file that is not the object). @since 1 (issue 14)
     */
    object: z
      .object({
        size: z.number().int().nonnegative().optional(),
        md5: z
          .string()
          .regex(/^[0-9a-f]{32}$/)
          .optional(),
        sha1: z
          .string()
          .regex(/^[0-9a-f]{40}$/)
          .optional(),
      })
      .optional(),
  }),
);
export type ShippedEvent = z.infer<typeof shippedEventSchema>;

/** `POST /agent/v1/events`: events in log order. @since 1 */
export const eventBatchSchema = lazySchema(() =>
  z.object({
    events: z.array(shippedEventSchema).min(1).max(MAX_EVENTS_PER_BATCH),
  }),
);
export type EventBatch = z.infer<typeof eventBatchSchema>;

/** The answer: how many were new, and the highest sequence number now stored (the agent moves its cursor past it). */
export const eventBatchResponseSchema = lazySchema(() =>
  z.object({
    accepted: z.number().int().nonnegative(),
    duplicates: z.number().int().nonnegative(),
    storedThrough: z.number().int().nonnegative(),
    /**
     * The console's cursor for this agent after the batch: the byte offset just past the last event it stored. The
     * next batch's first new event must start at most `EVENT_SEQ_SKIP_BYTES` after it. @since 1 (issue 14)
     */
    cursor: z.number().int().nonnegative().optional(),
  }),
);

/**
 * How far past the console's cursor, in all, the lines a batch skips may reach (lines that are not events: a torn
 * line left by a crash, a line from a newer agent). A batch whose events start further on is refused
 * CONSOLE_EVENT_SEQ_AHEAD: a sequence number cannot be pushed ahead of what the console stored. @since 1 (issue 14)
 */
export const EVENT_SEQ_SKIP_BYTES = 256 * 1024;
export type EventBatchResponse = z.infer<typeof eventBatchResponseSchema>;
