import { z } from 'zod';

export const serverHealthSchema = z.object({
  url: z.string(),
  kind: z.string(),
  state: z.enum(['unknown', 'healthy', 'failing']),
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).optional(),
  lastSuccessAt: z.string().optional(),
});

/** `get-status`: the agent's health, its servers and its queue. @since 1 */
export const getStatusRequestSchema = z.object({ type: z.literal('get-status'), payload: z.object({}).default({}) });

export const statusResultSchema = z.object({
  appVersion: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  home: z.string(),
  servers: z.array(serverHealthSchema),
  queue: z.object({ objects: z.number().int(), bytes: z.number().int(), limitBytes: z.number().int() }),
  recent: z.array(
    z.object({ jobId: z.string(), path: z.string(), sha256: z.string(), state: z.string(), level: z.string().optional(), threat: z.string().optional() }),
  ),
});
export type StatusResult = z.infer<typeof statusResultSchema>;
