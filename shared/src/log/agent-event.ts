import { z } from 'zod';

/**
 * The agent's event log (`sandgate events`): one JSON object per line in `$SANDGATE_HOME/events/events.jsonl`.
 * Append only; types are never renamed.
 */
export const AGENT_EVENT_TYPES = [
  'service-started',
  'service-stopped',
  'object-accepted',
  'object-refused',
  'object-submitted',
  'verdict',
  'quarantined',
  'quarantine-failed',
  'restored',
  'server-error',
  'queue-full',
  'queue-recovered',
  'queue-entry-corrupt',
  'policy-invalid',
  'quarantine-deleted',
  'content-mismatch',
  'server-recovered',
  'verdict-cached',
  'quarantine-exported',
  'quarantine-limit-reached',
  'policy-reloaded',
  'restore-requested',
  'held-released',
  'held-landed',
  // Scan tasks (issue 5): IOC scan tasks and the Critical Areas Scans a threat or a match starts, with `taskId`.
  'scan-task-created',
  'scan-task-started',
  'scan-task-paused',
  'scan-task-resumed',
  'scan-task-match',
  'scan-task-completed',
  'scan-task-failed',
  'scan-task-cancelled',
  'scan-task-corrupt',
  // A malicious verdict on a SHA-256 in `response.allowSha256`: reported, deliberately not acted on.
  'verdict-allowed',
] as const;

export const agentEventSchema = z.object({
  /** ISO 8601 */
  time: z.string(),
  type: z.enum(AGENT_EVENT_TYPES),
  /** Present on errors and refusals. */
  code: z.string().optional(),
  message: z.string().optional(),
  jobId: z.string().optional(),
  path: z.string().optional(),
  sha256: z.string().optional(),
  server: z.string().optional(),
  level: z.string().optional(),
  threat: z.string().optional(),
  quarantineId: z.string().optional(),
  /** On `restore-requested`: the account the agent runs as, i.e. who asked (issue 17). */
  user: z.string().max(256).optional(),
  /** `kind/format` of the content, on `object-accepted` and `content-mismatch`. */
  content: z.string().optional(),
  /** The scan task concerned, on `scan-task-*` events. */
  taskId: z.string().optional(),
  /** The IOC that matched (`verdict:<jobId>` for a hash judged malicious), on `scan-task-match`. */
  iocId: z.string().optional(),
  /**
   * On the events of a job (`<jobId>/<what>`): the agent records each of them in the job's record before writing it
   * here, and after a crash writes only those whose id is not in the log yet, so each appears exactly once.
   */
  eventId: z.string().max(200).optional(),
  /**
   * On a `server-error` with code ANALYSIS_FAILED: how many analyses of the object have failed on the server side in
   * this job so far (at most 3; at the last the job ends with that error).
   */
  attempts: z.number().int().positive().optional(),
});
export type AgentEvent = z.infer<typeof agentEventSchema>;
