import { z } from 'zod';
import { agentEventSchema } from '../log/agent-event.ts';

/** The most events one `POST /agent/v1/events` may carry. */
export const MAX_EVENTS_PER_BATCH = 500;

/**
 * One event of the agent's event log, with its sequence number: the byte offset of its line in the append-only log.
 * Sequence numbers only grow, so the console stores each (agent, seq) once and a batch re-sent after a lost answer
 * changes nothing. @since 1
 */
export const shippedEventSchema = z.object({
  seq: z.number().int().nonnegative(),
  event: agentEventSchema,
  /**
   * On a `verdict` event with level `malicious`: the OpenIOC 1.1 document the agent generated for the object (its
   * hashes under its size, its name), which the console hands to the group's other workstations. @since 1 (group actions)
   */
  ioc: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), xml: z.string().max(256 * 1024) }).optional(),
});
export type ShippedEvent = z.infer<typeof shippedEventSchema>;

/** `POST /agent/v1/events`: events in log order. @since 1 */
export const eventBatchSchema = z.object({
  events: z.array(shippedEventSchema).min(1).max(MAX_EVENTS_PER_BATCH),
});
export type EventBatch = z.infer<typeof eventBatchSchema>;

/** The answer: how many were new, and the highest sequence number now stored (the agent moves its cursor past it). */
export const eventBatchResponseSchema = z.object({
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  storedThrough: z.number().int().nonnegative(),
});
export type EventBatchResponse = z.infer<typeof eventBatchResponseSchema>;
