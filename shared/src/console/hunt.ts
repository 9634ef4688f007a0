import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { iocFormatSchema } from '../ioc/ioc-format.ts';
import { MAX_ROW_ID } from './http-values.ts';
import { onThreatSchema } from './group-actions.ts';

/**
 * An operator's own hunt for a group (issue 18): an IOC file they upload (OpenIOC 1.0/1.1, a STIX 2.1 bundle or
 * indicator, YARA rules, told apart by content), run as a group task on every member, with the controls of the tasks a
 * threat makes: canary and cap (blast radius), dry run, never-quarantine, and a second witness before any
 * quarantine, which for a hunt is only another operator's approval. @since 1 (issue 18)
 */

/** The largest hunt file the console takes (its bytes, before any parsing): what a delivered task may carry. */
export const HUNT_MAX_FILE_BYTES = 256 * 1024;

/** What a hunt does and where (the options of a threat's group task, minus `scan` and the witness count). */
export const huntOptionsSchema = lazySchema(() =>
  onThreatSchema
    .pick({
      quarantineOnMatch: true,
      criticalAreasScan: true,
      dryRun: true,
      canaryPercent: true,
      maxWorkstations: true,
      scope: true,
      runMode: true,
      neverQuarantine: true,
    })
    .extend({
      /** A workstation that has not picked the hunt up after this long (offline) never starts it. Default 168 (7 days). */
      expiresHours: z
        .number()
        .positive()
        .max(24 * 90)
        .default(168),
    })
    .strict(),
);
export type HuntOptions = z.infer<typeof huntOptionsSchema>;
export type HuntOptionsInput = z.input<typeof huntOptionsSchema>;

/**
 * `POST /api/hunts`: the file travels base64-encoded (its bytes as uploaded, whatever they are), so the console sees
 * exactly what the operator chose; `fileName` is shown and audited, never used to tell the format.
 */
export const huntCreateBodySchema = lazySchema(() =>
  z.strictObject({
    groupId: z.number().int().min(1).max(MAX_ROW_ID),
    fileName: z.string().min(1).max(255),
    /**
     * Base64 of the file; at most HUNT_MAX_FILE_BYTES once decoded (checked before anything is parsed: a file up to twice
     * that gets CONSOLE_HUNT_FILE_TOO_LARGE, a larger body is refused unread with FRAME_TOO_LARGE).
     */
    contentBase64: z
      .string()
      .max(Math.ceil(HUNT_MAX_FILE_BYTES / 3) * 4 * 2)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
    options: huntOptionsSchema.default(huntOptionsSchema.parse({})),
  }),
);
export type HuntCreateBody = z.infer<typeof huntCreateBodySchema>;

/** What the console found in a hunt file (audited, shown, and delivered to the agents beside the text). */
export const huntFileSchema = lazySchema(() =>
  z.object({
    format: iocFormatSchema,
    /** SHA-256 of the file's bytes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    name: z.string().min(1).max(255),
    bytes: z.number().int().nonnegative(),
    /** Indicators (STIX, OpenIOC: 1 per file) or rules (YARA) the console counted. */
    indicators: z.number().int().nonnegative(),
  }),
);
export type HuntFile = z.infer<typeof huntFileSchema>;

/** The answer of `POST /api/hunts`. */
export const huntCreatedSchema = lazySchema(() =>
  z.object({
    id: z.string().uuid(),
    group: z.number().int(),
    file: huntFileSchema,
    workstations: z.number().int().nonnegative(),
    /** Whether it waits for another operator's approval before any workstation quarantines. */
    awaitingApproval: z.boolean(),
  }),
);
export type HuntCreated = z.infer<typeof huntCreatedSchema>;
