import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { serverHealthSchema } from '../protocol/messages/status.ts';
import { agentHostSchema } from './enrollment.ts';

/**
 * `POST /agent/v1/heartbeat`: who the agent is and how it is doing, sent when the channel starts and then every
 * `heartbeatMs`. The console shows a workstation offline when no heartbeat came for three intervals. @since 1
 */
export const heartbeatSchema = lazySchema(() =>
  z.object({
    /** Must equal the client certificate's common name; the console refuses a mismatch. */
    agentId: z.string().uuid(),
    appVersion: z.string().max(64),
    host: agentHostSchema,
    /** When the agent service started (ISO 8601). */
    startedAt: z.string(),
    /** How often the agent will send heartbeats, so the console can judge "offline". */
    heartbeatMs: z
      .number()
      .int()
      .positive()
      .max(24 * 3600_000),
    queue: z.object({ objects: z.number().int(), bytes: z.number().int(), limitBytes: z.number().int() }),
    /** Each sandbox server's health, in policy order (the same shape as `sandgate status`). */
    servers: z.array(serverHealthSchema).max(64),
    /** The group policy revision the agent has applied (0: none yet). */
    policyRevision: z.number().int().nonnegative(),
    /** Events not yet delivered to the console (the offline backlog). */
    eventBacklog: z.number().int().nonnegative(),
    /**
     * SHA-256s (lowercase hex) of the CA certificates the agent pins for the console, so the console knows who still
     * trusts a CA it retired. Absent from agents before CA rotation. @since 1 (CA rotation)
     */
    trustCas: z
      .array(z.string().regex(/^[0-9a-f]{64}$/))
      .min(1)
      .max(4)
      .optional(),
  }),
);
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const heartbeatResponseSchema = lazySchema(() => z.object({ ok: z.literal(true), serverTime: z.string() }));
