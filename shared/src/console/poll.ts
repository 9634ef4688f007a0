import { z } from 'zod';
import { consoleTaskSchema } from './console-task.ts';
import { decimalInt, MAX_ROW_ID } from './http-values.ts';

/** Longest wait the console grants a poll; the agent asks again right after an empty answer. */
export const MAX_POLL_WAIT_MS = 55_000;

/**
 * `GET /agent/v1/poll?policyRevision=R&waitMs=W`: answers at once when the group's policy revision differs from R (or
 * tasks are pending), otherwise when one of those happens within W ms, otherwise empty after W ms. @since 1
 */
export const pollQuerySchema = z.strictObject({
  policyRevision: decimalInt(0, MAX_ROW_ID).default(0),
  waitMs: decimalInt(0, MAX_POLL_WAIT_MS).default(25_000),
});
export type PollQuery = z.infer<typeof pollQuerySchema>;

export const pollResponseSchema = z.object({
  /**
   * Present when the agent's revision is not the current one. `policy` is a whole policy document (validated by
   * `policySchema` on both sides) or null when the agent's group has none (the agent keeps its local policy).
   */
  policy: z
    .object({
      revision: z.number().int().nonnegative(),
      group: z.string().nullable(),
      policy: z.record(z.string(), z.unknown()).nullable(),
    })
    .optional(),
  tasks: z.array(consoleTaskSchema).default([]),
});
export type PollResponse = z.infer<typeof pollResponseSchema>;

/**
 * The same answer as an agent reads it: each task is checked on its own (`consoleTaskSchema`), so a message the agent
 * does not know (a newer console's) is set aside instead of making the whole answer, policy included, unreadable.
 * @since 1 (issue 17)
 */
export const pollAnswerSchema = pollResponseSchema.extend({ tasks: z.array(z.unknown()).max(10_000).default([]) });
