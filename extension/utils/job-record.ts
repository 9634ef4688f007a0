import { z } from 'zod';
import { provenanceSchema } from '@sandgate/shared';

/** What the popup shows for a captured download. `queued` also covers "captured, not yet accepted by the agent". */
export const jobDisplayStateSchema = z.enum(['queued', 'analysing', 'clean', 'suspicious', 'malicious', 'unknown', 'error']);
export type JobDisplayState = z.infer<typeof jobDisplayStateSchema>;

/**
 * One captured download as kept in `storage.local` under `sandgate.jobs` (keyed by the browser's download id).
 * It holds no download URL once the agent has accepted the object, and never one for an incognito download.
 */
export const jobRecordSchema = z.object({
  downloadId: z.number().int().nonnegative(),
  /** Absolute path the browser saved the file to. */
  path: z.string(),
  /** Base name of `path`, for display. */
  fileName: z.string(),
  incognito: z.boolean(),
  state: jobDisplayStateSchema,
  /** Whether the agent accepted the object (or refused it for good). Unsubmitted records are the outbox. */
  submitted: z.boolean(),
  capturedAt: z.string(),
  updatedAt: z.string(),
  jobId: z.string().optional(),
  sha256: z.string().optional(),
  threat: z.string().optional(),
  /** The sandbox server that judged it. */
  server: z.string().optional(),
  actions: z.array(z.object({ type: z.string(), status: z.string(), code: z.string().optional() })).optional(),
  /** Why the agent refused it: for good (`state: error`), or for now while unsubmitted (`QUEUE_FULL`, sent again later). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /**
   * False while the agent's job is unfinished, true once it is done or failed. The verdict is shown as soon as the agent
   * has recorded it, before its response actions finish, so the state alone no longer tells a finished job.
   */
  settled: z.boolean().optional(),
  /** When a malicious or suspicious verdict arrived; drives the red badge until the popup is opened. */
  threatAt: z.string().optional(),
  /** The quarantine outcome the threat notification last reported (`none` before any action); re-notified on change. */
  notifiedOutcome: z.string().optional(),
  /** Provenance to send while unsubmitted; for incognito downloads it carries no URLs. */
  pendingProvenance: provenanceSchema.optional(),
  /** From acceptance by the agent to the verdict, in milliseconds. */
  durationMs: z.number().nonnegative().optional(),
  /** The quarantine item the agent made of it. */
  quarantineId: z.string().optional(),
  /**
   * Pending-verdict hold (`capture.pendingVerdict` = `hold`): `held` while it sits under its `.sandgate-hold` name,
   * `released` once published after a clean verdict, `released-unjudged` when policy let it out with no verdict
   * possible, `release-failed` when the agent could not publish it (it stays held, never lost). Where the browser
   * cannot name a download before it lands (Firefox), the agent holds it once it has landed: `pending` until it could
   * (agent not reachable yet: the file is still under its own name), `hold-failed` when the agent refused to.
   */
  hold: z.enum(['held', 'released', 'released-unjudged', 'release-failed', 'pending', 'hold-failed']).optional(),
  /** Where the browser saved it, when the agent has since moved it to its held name. */
  landedPath: z.string().optional(),
  /**
   * Set when the person's restore was done (`restored`) or passed to an administrator (`requested`), and then with the
   * administrator's answer (issue 17, `by: administrator`): `declined` with their `reason`, `approved` until the
   * restore has run, then `restored`, or `failed` when this computer refused the approved restore (`message`).
   */
  restore: z
    .object({
      outcome: z.enum(['restored', 'requested', 'failed', 'declined', 'approved']),
      at: z.string(),
      by: z.enum(['user', 'administrator']).optional(),
      path: z.string().optional(),
      message: z.string().optional(),
      reason: z.string().optional(),
    })
    .optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

export const ACTIVE_STATES: ReadonlySet<JobDisplayState> = new Set(['queued', 'analysing']);
export const THREAT_STATES: ReadonlySet<JobDisplayState> = new Set(['malicious', 'suspicious']);
