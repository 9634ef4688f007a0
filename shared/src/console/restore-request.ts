import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * `POST /agent/v1/restore-progress`: what a workstation did with a `restore` message (`restoreTaskSchema`): every
 * quarantine item holding that SHA-256, restored to its original place or refused with the coded error (a file is
 * there now, the folder is a link, the item is corrupt…). `done` with no items: nothing quarantined there matches.
 * `failed`: the quarantine could not be read at all. `expired`: the message arrived after its `expiresAt`.
 * @since 1 (restore from the console)
 */
export const restoreItemOutcomeSchema = lazySchema(() =>
  z.object({
    quarantineId: z.string().max(128),
    path: z.string().max(4096),
    outcome: z.enum(['restored', 'refused']),
    code: z.string().max(64).optional(),
    message: z.string().max(2000).optional(),
  }),
);
export type RestoreItemOutcome = z.infer<typeof restoreItemOutcomeSchema>;

export const restoreProgressSchema = lazySchema(() =>
  z.object({
    taskId: z.string().uuid(),
    state: z.enum(['done', 'failed', 'expired']),
    items: z.array(restoreItemOutcomeSchema).max(1000).default([]),
    error: z.object({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
  }),
);
export type RestoreProgress = z.infer<typeof restoreProgressSchema>;
export const restoreProgressResponseSchema = lazySchema(() => z.object({ ok: z.literal(true) }));

/**
 * `POST /api/quarantine/restore` on the web console: one workstation or every member of one group. `allow` (default
 * false) also declares the object a false positive: its SHA-256 joins the group's `response.allowSha256`, so the group
 * stops acting on it when it is downloaded again (a workstation outside any group cannot be given that: refused).
 */
export const restoreRequestBodySchema = lazySchema(() =>
  z.union([
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), agentId: z.string().min(1).max(128), allow: z.boolean().optional() }).strict(),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), groupId: z.number().int(), allow: z.boolean().optional() }).strict(),
  ]),
);
export type RestoreRequestBody = z.infer<typeof restoreRequestBodySchema>;
