import { z } from 'zod';

/**
 * A task the console hands an agent (delivered by the poll, with its group's policy). Defined now so that the wire
 * format is fixed; agents of this version receive and acknowledge nothing yet (console/DESIGN.md, group actions).
 * @since 1
 */
export const iocScanTaskSchema = z.object({
  type: z.literal('ioc-scan'),
  /** The per-agent task id; the group task it belongs to is `groupTaskId`. */
  id: z.string().uuid(),
  groupTaskId: z.string().uuid(),
  /** OpenIOC 1.1 document text, generated from the verdict on the workstation that found the threat. */
  ioc: z.string().max(2 * 1024 * 1024),
  scope: z.union([z.enum(['critical', 'system']), z.array(z.string()).min(1)]),
  onMatch: z.object({ quarantine: z.boolean(), criticalAreasScan: z.boolean() }),
  /** Report what would be quarantined, change nothing. */
  dryRun: z.boolean(),
  /** Paths (prefixes) and publishers never to quarantine, whatever matches. */
  neverQuarantine: z.object({ paths: z.array(z.string()).default([]), publishers: z.array(z.string()).default([]) }).default({ paths: [], publishers: [] }),
  /** An agent that comes back after this does not start the task (ISO 8601). */
  expiresAt: z.string(),
});

/** Restore one quarantined object (a false positive), by its SHA-256 since quarantine ids differ per workstation. */
export const restoreTaskSchema = z.object({
  type: z.literal('restore'),
  id: z.string().uuid(),
  groupTaskId: z.string().uuid().optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.string(),
});

export const cancelTaskSchema = z.object({ type: z.literal('cancel'), id: z.string().uuid(), taskId: z.string().uuid() });

export const consoleTaskSchema = z.discriminatedUnion('type', [iocScanTaskSchema, restoreTaskSchema, cancelTaskSchema]);
export type ConsoleTask = z.infer<typeof consoleTaskSchema>;

/** What an agent reports back about a task (`POST /agent/v1/task-progress`, a later version). */
export const taskProgressSchema = z.object({
  taskId: z.string().uuid(),
  state: z.enum(['received', 'running', 'paused-user-active', 'matched', 'done', 'failed', 'expired']),
  matches: z
    .array(z.object({ path: z.string(), sha256: z.string().optional(), action: z.enum(['none', 'quarantined', 'would-quarantine', 'kept-never-quarantine']) }))
    .max(10_000)
    .default([]),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type TaskProgress = z.infer<typeof taskProgressSchema>;
