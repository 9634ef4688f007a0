import { z } from 'zod';
import { lazySchema } from './lazy-schema.ts';
import { verdictSchema } from './verdict.ts';
import { actionResultSchema } from './actions.ts';
import { contentTypeSchema } from './content-type.ts';
import { iocFormatSchema } from './ioc/ioc-format.ts';

/** One line of `sandgate submit --wait --json` (PRODUCT.md). More fields may be added; none renamed. */
export const submitOutputLineSchema = lazySchema(() =>
  z.object({
    object: z.object({ path: z.string(), sha256: z.string(), size: z.number().int(), content: contentTypeSchema.optional() }),
    verdict: verdictSchema.optional(),
    actions: z.array(actionResultSchema),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  }),
);
export type SubmitOutputLine = z.infer<typeof submitOutputLineSchema>;

/** One element of `sandgate quarantine list --json`. */
export const quarantineListItemSchema = lazySchema(() =>
  z.object({
    id: z.string(),
    originalPath: z.string(),
    sha256: z.string(),
    size: z.number().int(),
    threat: z.string().optional(),
    level: z.string(),
    server: z.string().optional(),
    quarantinedAt: z.string(),
    sourceUrl: z.string().optional(),
  }),
);
export type QuarantineListItem = z.infer<typeof quarantineListItemSchema>;

/**
 * One match of `sandgate scan critical --json` or `sandgate ioc scan --json`: what matched, where it was found, and
 * which indicator (an IOC from a file, or a hash a sandbox judged malicious) it matched.
 */
export const scanMatchSchema = lazySchema(() =>
  z.object({
    /** What kind of object: `FileItem`, `ProcessItem`, … (the OpenIOC document it was observed as). */
    document: z.string(),
    /** The file's path (for a process, its executable; for a boot sector, the disk device). */
    path: z.string(),
    /** Where the scan found it: `process`, `autostart`, `kernel-module`, `system-binaries`, `user-startup`, `boot-sector`, `path`… */
    area: z.string(),
    /** How the object is referenced there, e.g. `systemd unit /etc/systemd/system/x.service ExecStart`. */
    origin: z.string().optional(),
    pid: z.number().int().optional(),
    /** `ioc`: an indicator from an IOC file; `verdict`: a SHA-256 a sandbox judged malicious (a finished job). */
    source: z.enum(['ioc', 'verdict']),
    /**
     * Which IOC format the indicator came from (absent for verdict hashes). @since issue 18. With `stix`, `iocId` is the
     * indicator's id (`indicator--…`); with `yara`, the rule's `namespace.identifier`.
     */
    format: iocFormatSchema.optional(),
    /** The IOC's id (OpenIOC), the STIX indicator's id, the YARA rule's name, or `verdict:<jobId>`. */
    iocId: z.string(),
    /** The IOC file, or the job journal the verdict came from. */
    file: z.string(),
    description: z.string().optional(),
    /** The terms that were true, `document/search = value`. */
    terms: z.array(z.string()),
    sha256: z.string().optional(),
  }),
);
export type ScanMatch = z.infer<typeof scanMatchSchema>;

/** Counters of a scan; the same figures the command prints as its summary. */
export const scanSummarySchema = lazySchema(() =>
  z.object({
    /** Objects looked at: files found while walking plus objects the critical-area collectors named. */
    filesSeen: z.number().int(),
    /** Files the indicators excluded from their name, path or size alone, without reading them. */
    skippedByPlan: z.number().int(),
    /** Files over `scan.maxFileBytes`, not read. */
    skippedTooLarge: z.number().int(),
    /** Files read to compute hashes (each once, every needed hash in the same pass). */
    hashed: z.number().int(),
    bytesRead: z.number().int(),
    matches: z.number().int(),
    errors: z.number().int(),
    /** Symbolic links met while walking (never followed). */
    linksSkipped: z.number().int(),
    /** Milliseconds slept to keep the CPU budget. */
    throttledMs: z.number().int(),
    elapsedMs: z.number().int(),
  }),
);
export type ScanSummary = z.infer<typeof scanSummarySchema>;

/** Output of `sandgate scan critical --json` and `sandgate ioc scan --json`. More fields may be added; none renamed. */
export const scanOutputSchema = lazySchema(() =>
  z.object({
    kind: z.enum(['critical-areas', 'ioc']),
    /** `critical`, `system`, or the paths scanned. */
    scope: z.union([z.enum(['critical', 'system']), z.array(z.string())]),
    startedAt: z.string(),
    finishedAt: z.string(),
    summary: scanSummarySchema,
    matches: z.array(scanMatchSchema),
    /** IOC terms that cannot be evaluated here; never silently ignored. */
    unsupported: z.array(z.object({ file: z.string(), itemId: z.string(), term: z.string(), reason: z.string() })),
    termCounts: z.object({ evaluated: z.number().int(), unsupported: z.number().int() }),
    /** Malicious SHA-256 values from finished jobs the objects were checked against (Critical Areas Scan). */
    knownMaliciousHashes: z.number().int().optional(),
    /** Areas or objects that could not be examined (not readable, not a local filesystem…), with the reason. */
    notExamined: z.array(z.object({ area: z.string(), what: z.string(), reason: z.string() })),
    /** The first errors met (the summary counts all of them). */
    errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })),
    /** Kernel taint (Linux Critical Areas Scan). */
    kernel: z
      .object({
        tainted: z.number().int(),
        flags: z.array(z.object({ bit: z.number().int(), letter: z.string(), meaning: z.string() })),
        taintedModules: z.array(z.object({ name: z.string(), taint: z.string() })),
      })
      .optional(),
  }),
);
export type ScanOutput = z.infer<typeof scanOutputSchema>;

/**
 * A scan task (issue 5): an IOC scan created by policy after a threat or from the CLI, or the Critical Areas Scan a
 * threat triggers. Kept as one record in `$SANDGATE_HOME/tasks/<id>/task.json`; the same object is `ioc task show
 * --json` and the `task-command` result. More fields may be added; none renamed.
 */
export const taskKindSchema = lazySchema(() => z.enum(['ioc', 'critical-areas']));
export const taskRunModeSchema = lazySchema(() => z.enum(['manual', 'afterThreat', 'idle']));
/** `created → running ⇄ paused → completed | failed | cancelled`. */
export const taskStateSchema = lazySchema(() => z.enum(['created', 'running', 'paused', 'completed', 'failed', 'cancelled']));
/** Why a task is paused: by `ioc task pause`, because the screen was unlocked (idle mode), or the agent stopped. */
export const taskPauseReasonSchema = lazySchema(() => z.enum(['user', 'idle-ended', 'interrupted']));
export const taskScopeSchema = lazySchema(() => z.union([z.enum(['critical', 'system']), z.array(z.string()).min(1)]));

/** What was done about one match (policy `response.iocScan.onMatch`); `pending` is on disk before the action runs. */
export const taskMatchActionSchema = lazySchema(() =>
  z.object({
    type: z.enum(['quarantine', 'critical-areas-scan']),
    status: z.enum(['pending', 'done', 'failed', 'skipped']),
    /** Quarantine item id, or the Critical Areas Scan task id. */
    id: z.string().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
  }),
);

export const taskMatchSchema = lazySchema(() =>
  scanMatchSchema.extend({
    /** When it was found (ISO 8601). */
    foundAt: z.string(),
    actions: z.array(taskMatchActionSchema),
  }),
);
export type TaskMatch = z.infer<typeof taskMatchSchema>;

export const taskSchema = lazySchema(() =>
  z.object({
    format: z.literal(1),
    id: z.string().regex(/^[0-9a-f]{16}$/),
    kind: taskKindSchema,
    createdAt: z.string(),
    updatedAt: z.string(),
    /**
     * `policy`: a response action after a threat; `cli`: `sandgate ioc task create`; `task`: a match of another task;
     * `console`: a group task delivered by the console.
     */
    createdBy: z.enum(['policy', 'cli', 'task', 'console']),
    /** The job whose malicious verdict created it (policy), so an interrupted action finds its task again. */
    jobId: z.string().optional(),
    /** The task whose match created it (onMatch.criticalAreasScan). */
    parentTaskId: z.string().optional(),
    scope: taskScopeSchema,
    runMode: taskRunModeSchema,
    onMatch: z.object({ quarantine: z.boolean(), criticalAreasScan: z.boolean() }),
    state: taskStateSchema,
    pauseReason: taskPauseReasonSchema.optional(),
    /** Set by `ioc task run` (and at creation in `afterThreat` mode): run now, whatever the idle state. */
    runRequested: z.boolean(),
    /** The IOC files, copied into the task folder at creation (`iocs/<name>`), with where they came from. */
    iocFiles: z.array(z.object({ name: z.string(), iocId: z.string(), source: z.string() })),
    /** Extra SHA-256 values checked (a Critical Areas Scan: the object that triggered it). */
    sha256: z.array(z.string()).default([]),
    /** Terms that cannot be evaluated here, per file and term, found when the task was created. */
    unsupported: z.array(z.object({ file: z.string(), itemId: z.string(), term: z.string(), reason: z.string() })),
    termCounts: z.object({ evaluated: z.number().int(), unsupported: z.number().int() }),
    warnings: z.array(z.object({ file: z.string(), itemId: z.string(), message: z.string() })).default([]),
    /**
     * Where the walk is. The walk order is deterministic (roots in order, names sorted, a folder's files before its
     * subfolders), so `{rootIndex, lastPath}` (the last file whose check finished, with every file before it) is enough
     * to resume without reading anything done again. The `critical` scope restarts from the beginning instead.
     */
    progress: z.object({
      roots: z.array(z.string()).optional(),
      rootIndex: z.number().int().default(0),
      lastPath: z.string().optional(),
      filesDone: z.number().int().default(0),
      /** Files in the scope, counted before the first run of a PATH scope; absent when not counted. */
      total: z.number().int().optional(),
      runs: z.number().int().default(0),
    }),
    /** Counters summed over every run. */
    stats: scanSummarySchema,
    /** Distinct matches (path, IOC, origin), the first 1,000 kept; `stats.matches` counts every one found. */
    matches: z.array(taskMatchSchema),
    notExamined: z.array(z.object({ area: z.string(), what: z.string(), reason: z.string() })).default([]),
    errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })).default([]),
    /** The Critical Areas Scan task started by this task's first match (onMatch.criticalAreasScan). */
    criticalAreasScanTaskId: z.string().optional(),
    startedAt: z.string().optional(),
    /** Each time the task continued from a checkpoint; files added behind the checkpoint meanwhile are missed. */
    resumedAt: z.array(z.string()).default([]),
    finishedAt: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  }),
);
export type Task = z.infer<typeof taskSchema>;

/**
 * A task in a list: the record without its long lists (matches, terms, notes, errors), which `ioc task show` gives;
 * a list of many tasks must fit one 1 MiB message.
 */
export const taskSummarySchema = lazySchema(() =>
  taskSchema.omit({ matches: true, unsupported: true, warnings: true, notExamined: true, errors: true }).extend({
    /** Distinct matches recorded. */
    matchCount: z.number().int(),
  }),
);
export type TaskSummary = z.infer<typeof taskSummarySchema>;

/** `sandgate ioc tasks --json` (and the `list-tasks` result): newest first. */
export const taskListOutputSchema = lazySchema(() => z.object({ tasks: z.array(taskSummarySchema) }));
export type TaskListOutput = z.infer<typeof taskListOutputSchema>;
