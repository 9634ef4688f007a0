import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

const sha256 = lazySchema(() => z.string().regex(/^[0-9a-f]{64}$/));

/**
 * A group IOC scan task as one workstation receives it (in the poll answer). `id` is this workstation's share of the
 * group task `groupTaskId`; progress is reported against `id`. Paths may start with `~/` (resolved on the workstation).
 * @since 1 (group actions)
 */
export const iocScanTaskSchema = lazySchema(() =>
  z.object({
    type: z.literal('ioc-scan'),
    id: z.string().uuid(),
    groupTaskId: z.string().uuid(),
    /**
     * OpenIOC 1.1 document text that finds the object, built by the console from its facts (SHA-256, and the size, MD5
     * and SHA-1 reported with it). Whatever it matches, the agent quarantines only a file whose SHA-256, computed while
     * reading it, is `sha256`; anything else it reports.
     */
    ioc: z.string().max(256 * 1024),
    /**
     * The SHA-256 of the object: the only content a group task may ever quarantine. For an operator's hunt (`hunt`), the
     * SHA-256 of the hunt file itself: an agent that does not know hunts quarantines only copies of that file.
     */
    sha256,
    /**
     * An operator's own hunt (issue 18), not a threat's object: `ioc` is the file they uploaded (OpenIOC, STIX 2.1 or
     * YARA; the agent tells the format by content and parses it itself, whatever the console found). Any hashed file it
     * matches may be quarantined, within never-quarantine and dry run, and only once another operator approved it
     * (`witnessed`). @since 1 (issue 18)
     */
    hunt: z
      .object({
        format: z.enum(['openioc', 'stix', 'yara']),
        name: z.string().max(255),
        by: z.string().max(256),
      })
      .optional(),
    /**
     * The console has a second witness for the object (its own sandbox look-up, enough workstations reporting it, or
     * an operator's approval). Until then (false, or absent) the share scans and reports only; a `witnessed` message
     * upgrades it later. @since 1 (issue 14)
     */
    witnessed: z.boolean().default(false),
    scope: z.union([z.enum(['critical', 'system']), z.array(z.string().min(1).max(4096)).min(1).max(100)]),
    runMode: z.enum(['afterThreat', 'idle']).default('afterThreat'),
    onMatch: z.object({ quarantine: z.boolean(), criticalAreasScan: z.boolean() }),
    /** Report what would be quarantined, change nothing. */
    dryRun: z.boolean(),
    /**
     * Paths (prefixes or globs), SHA-256 values and publishers (Authenticode signers, `publisherRuleSchema` in
     * group-actions.ts) never to quarantine, whatever matches: checked by the agent. `publishers` @since 1 (issue 8).
     */
    neverQuarantine: z
      .object({
        paths: z.array(z.string()).default([]),
        sha256: z.array(sha256).default([]),
        publishers: z
          .array(z.object({ name: z.string().min(1).max(256), caSha256: z.array(sha256).min(1).max(20) }))
          .max(100)
          .default([]),
      })
      .default({ paths: [], sha256: [], publishers: [] }),
    /** An agent that comes back after this does not start the task (ISO 8601). */
    expiresAt: z.string(),
  }),
);
export type IocScanTask = z.infer<typeof iocScanTaskSchema>;

/**
 * Restore one quarantined object (a false positive), by its SHA-256 since quarantine ids differ per workstation: every
 * item with that SHA-256 goes back to its original place (never over a file, never through a link). `id` is this
 * workstation's share of the restore request `groupTaskId`; the outcome goes to `restoreProgressSchema`.
 */
export const restoreTaskSchema = lazySchema(() =>
  z.object({
    type: z.literal('restore'),
    id: z.string().uuid(),
    groupTaskId: z.string().uuid().optional(),
    sha256,
    expiresAt: z.string(),
  }),
);

/** Stop the task `taskId` (a workstation's share, as in `iocScanTaskSchema.id`); its results so far are kept. */
export const cancelTaskSchema = lazySchema(() => z.object({ type: z.literal('cancel'), id: z.string().uuid(), taskId: z.string().uuid() }));

/** Who vouched for a group task's object besides the workstation that reported it. @since 1 (issue 14) */
export const witnessSchema = lazySchema(() =>
  z.discriminatedUnion('kind', [
    /** A sandbox server the console itself is configured with judged the SHA-256 malicious. */
    z.object({ kind: z.literal('sandbox'), server: z.string().max(2048), threat: z.string().max(512).optional(), at: z.string() }),
    /** This many distinct, unrevoked workstations reported the SHA-256 malicious (`required` or more). */
    z.object({ kind: z.literal('agents'), count: z.number().int().positive(), required: z.number().int().positive(), at: z.string() }),
    /** A console user with `manage-ioc-tasks` approved the group task. */
    z.object({ kind: z.literal('operator'), by: z.string().max(256), at: z.string() }),
  ]),
);
export type Witness = z.infer<typeof witnessSchema>;

/**
 * The share `taskId` (delivered earlier, unwitnessed) may now act: matches whose SHA-256 is the object's are
 * quarantined, those already found included. Sent with every poll until a progress report says `witnessed: true`.
 * @since 1 (issue 14)
 */
export const witnessedTaskSchema = lazySchema(() =>
  z.object({
    type: z.literal('witnessed'),
    id: z.string().uuid(),
    taskId: z.string().uuid(),
    /** Who vouched (`witnessSchema`), for the agent's log only: read loosely, so a kind added later is no parse error. */
    witness: z.object({ kind: z.string().max(32) }).passthrough(),
  }),
);

/** Longest reason an administrator may give for declining an employee's restore request. @since 1 (issue 17) */
export const RESTORE_DECLINE_REASON_MAX = 500;

/**
 * The administrator's answer to an employee's restore request (the `restore-requested` event the agent sent when the
 * person clicked "Ask for restore"): `declined` with the reason, or `approved`, in which case the restore itself comes
 * as a `restore` message (`restoreId` is that restore request's id) and what it did is what the person sees. `id` is
 * the request in the console's inbox; the agent acknowledges the answer with a `restore-progress` report of that id
 * (state `done`), and until then it comes with every poll. @since 1 (issue 17)
 */
export const restoreAnswerTaskSchema = lazySchema(() =>
  z.object({
    type: z.literal('restore-answer'),
    id: z.string().uuid(),
    sha256,
    /** The quarantine item the person asked about, as the agent named it in its event. */
    quarantineId: z.string().max(128).optional(),
    decision: z.enum(['approved', 'declined']),
    /** Why it was declined, in the administrator's words (shown to the person). */
    reason: z.string().max(RESTORE_DECLINE_REASON_MAX).optional(),
    restoreId: z.string().uuid().optional(),
    /** When the administrator answered (ISO 8601). */
    at: z.string().max(64),
  }),
);
export type RestoreAnswerTask = z.infer<typeof restoreAnswerTaskSchema>;

export const consoleTaskSchema = lazySchema(() =>
  z.discriminatedUnion('type', [iocScanTaskSchema, restoreTaskSchema, cancelTaskSchema, witnessedTaskSchema, restoreAnswerTaskSchema]),
);
export type ConsoleTask = z.infer<typeof consoleTaskSchema>;

/**
 * What was done about one match: `quarantined`; `would-quarantine` (dry run); `kept-never-quarantine`; `failed` (the
 * quarantine failed, `code` says why); `reported` (the task does not quarantine, the match is not a hashed file, or
 * its SHA-256 is not the object's: `code` GROUP_TASK_NOT_THE_OBJECT); `pending` (not acted on yet);
 * `awaiting-witness` (the object's SHA-256: quarantined once the console has a second witness, @since 1, issue 14).
 */
export const taskMatchOutcomeSchema = lazySchema(() =>
  z.enum(['pending', 'quarantined', 'would-quarantine', 'kept-never-quarantine', 'failed', 'reported', 'awaiting-witness']),
);

/** `POST /agent/v1/task-progress`: how a workstation's share of a group task is doing. @since 1 (group actions) */
export const taskProgressSchema = lazySchema(() =>
  z.object({
    taskId: z.string().uuid(),
    state: z.enum(['received', 'running', 'paused', 'done', 'failed', 'cancelled', 'expired']),
    /** Why it is paused: `idle-ended` (the user is active again), `interrupted` (the agent stopped), `user`. */
    pauseReason: z.string().max(32).optional(),
    filesDone: z.number().int().nonnegative().optional(),
    matches: z
      .array(
        z.object({
          path: z.string().max(4096),
          sha256: z.string().optional(),
          action: taskMatchOutcomeSchema,
          quarantineId: z.string().max(128).optional(),
          code: z.string().max(64).optional(),
        }),
      )
      .max(1000)
      .default([]),
    error: z.object({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
    /**
     * The IOC terms this workstation cannot evaluate (no collector for them on its OS or on this machine), by name: its
     * matches and its "no match" say nothing about them. The first 100; `termCounts.unsupported` counts all.
     * @since 1 (issue 13)
     */
    unsupported: z
      .array(z.object({ itemId: z.string().max(256), term: z.string().max(512), reason: z.string().max(1000) }))
      .max(100)
      .optional(),
    /** How many of the IOC's terms this workstation evaluates and how many it cannot. @since 1 (issue 13) */
    termCounts: z.object({ evaluated: z.number().int().nonnegative(), unsupported: z.number().int().nonnegative() }).optional(),
    /** The share knows it was witnessed (it acts): acknowledges a `witnessed` message. @since 1 (issue 14) */
    witnessed: z.boolean().optional(),
  }),
);
export type TaskProgress = z.infer<typeof taskProgressSchema>;
export const taskProgressResponseSchema = lazySchema(() => z.object({ ok: z.literal(true) }));
