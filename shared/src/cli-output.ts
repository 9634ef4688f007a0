import { z } from 'zod';
import { verdictSchema } from './verdict.ts';
import { actionResultSchema } from './actions.ts';
import { contentTypeSchema } from './content-type.ts';

/** One line of `sandgate submit --wait --json` (PRODUCT.md). More fields may be added; none renamed. */
export const submitOutputLineSchema = z.object({
  object: z.object({ path: z.string(), sha256: z.string(), size: z.number().int(), content: contentTypeSchema.optional() }),
  verdict: verdictSchema.optional(),
  actions: z.array(actionResultSchema),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type SubmitOutputLine = z.infer<typeof submitOutputLineSchema>;

/** One element of `sandgate quarantine list --json`. */
export const quarantineListItemSchema = z.object({
  id: z.string(),
  originalPath: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  threat: z.string().optional(),
  level: z.string(),
  server: z.string().optional(),
  quarantinedAt: z.string(),
  sourceUrl: z.string().optional(),
});
export type QuarantineListItem = z.infer<typeof quarantineListItemSchema>;

/**
 * One match of `sandgate scan critical --json` or `sandgate ioc scan --json`: what matched, where it was found, and
 * which indicator (an IOC from a file, or a hash a sandbox judged malicious) it matched.
 */
export const scanMatchSchema = z.object({
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
  /** The IOC's id, or `verdict:<jobId>`. */
  iocId: z.string(),
  /** The IOC file, or the job journal the verdict came from. */
  file: z.string(),
  description: z.string().optional(),
  /** The terms that were true, `document/search = value`. */
  terms: z.array(z.string()),
  sha256: z.string().optional(),
});
export type ScanMatch = z.infer<typeof scanMatchSchema>;

/** Counters of a scan; the same figures the command prints as its summary. */
export const scanSummarySchema = z.object({
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
});
export type ScanSummary = z.infer<typeof scanSummarySchema>;

/** Output of `sandgate scan critical --json` and `sandgate ioc scan --json`. More fields may be added; none renamed. */
export const scanOutputSchema = z.object({
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
});
export type ScanOutput = z.infer<typeof scanOutputSchema>;
