import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { consoleTaskSchema } from './console-task.ts';
import { decimalInt, MAX_ROW_ID } from './http-values.ts';

/** Longest wait the console grants a poll; the agent asks again right after an empty answer. */
export const MAX_POLL_WAIT_MS = 55_000;

/**
 * `GET /agent/v1/poll?policyRevision=R&waitMs=W`: answers at once when the group's policy revision differs from R (or
 * tasks are pending), otherwise when one of those happens within W ms, otherwise empty after W ms. @since 1
 */
export const pollQuerySchema = lazySchema(() =>
  z.strictObject({
    policyRevision: decimalInt(0, MAX_ROW_ID).default(0),
    waitMs: decimalInt(0, MAX_POLL_WAIT_MS).default(25_000),
  }),
);
export type PollQuery = z.infer<typeof pollQuerySchema>;

export const pollResponseSchema = lazySchema(() =>
  z.object({
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
    /**
     * The console asks the agent to renew its client certificate now (`POST /agent/v1/renew`): `ca-rotation` when its
     * certificate is not from the CA renewals are signed by (a rotation is under way), `expiry` when it ends within 30
     * days. Sent only to agents whose heartbeats report `trustCas` (older agents ignore it and renew on their own
     * schedule). @since 1 (CA rotation)
     */
    renew: z.object({ reason: z.enum(['ca-rotation', 'expiry']) }).optional(),
    /**
     * The CA certificates the agent should pin for the console from now on (PEM, one or more), when the ones its
     * heartbeats report differ and its certificate is already from the CA in service: after a retirement, the retired
     * CA is dropped this way. The agent stores them atomically and reports them in its next heartbeat.
     * @since 1 (CA rotation)
     */
    trust: z.object({ caCertificates: z.string().min(100).max(65_536) }).optional(),
  }),
);
export type PollResponse = z.infer<typeof pollResponseSchema>;

/**
 * The same answer as an agent reads it: each task is checked on its own (`consoleTaskSchema`), so a message the agent
 * does not know (a newer console's) is set aside instead of making the whole answer, policy included, unreadable.
 * @since 1 (issue 17)
 */
export const pollAnswerSchema = lazySchema(() => pollResponseSchema.extend({ tasks: z.array(z.unknown()).max(10_000).default([]) }));
