import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.ts';

/** One sandbox server as `status` shows it, in policy order. @since 1 */
export const serverHealthSchema = lazySchema(() =>
  z.object({
    /** The server's URL as the policy spells it. */
    url: z.string(),
    kind: z.string(),
    /** `unknown` until the first request or probe; `failing` after an error, until a request or probe succeeds. */
    state: z.enum(['unknown', 'healthy', 'failing']),
    /** The latest failure, from a request or a health probe. */
    lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).optional(),
    lastSuccessAt: z.string().optional(),
    /**
     * True while requests pass the server over (`SERVER_SKIPPED`) after a transport fault (unreachable, timeout, TLS,
     * 5xx, invalid answer, throttled), until a health probe finds it healthy. When every server is skipped, each is
     * still tried. Absent when false. @since 1 (added in issue 3; older agents never send it)
     */
    skippedUntilProbe: z.boolean().optional(),
    /** When the next health probe of a skipped server is due (ISO 8601). @since 1 (issue 3) */
    nextProbeAt: z.string().optional(),
    /** Requests answered by another server while this one was skipped, since it began failing. @since 1 (issue 3) */
    skippedRequests: z.number().int().nonnegative().optional(),
  }),
);

/** `get-status`: the agent's health, its servers and its queue. @since 1 */
export const getStatusRequestSchema = lazySchema(() => z.object({ type: z.literal('get-status'), payload: z.object({}).default({}) }));

export const statusResultSchema = lazySchema(() =>
  z.object({
    appVersion: z.string(),
    pid: z.number().int(),
    startedAt: z.string(),
    home: z.string(),
    servers: z.array(serverHealthSchema),
    queue: z.object({ objects: z.number().int(), bytes: z.number().int(), limitBytes: z.number().int() }),
    recent: z.array(
      z.object({
        jobId: z.string(),
        path: z.string(),
        sha256: z.string(),
        state: z.string(),
        level: z.string().optional(),
        threat: z.string().optional(),
      }),
    ),
  }),
);
export type StatusResult = z.infer<typeof statusResultSchema>;
