import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');

/**
 * A path pattern resolved on each workstation: absolute, or starting with `~/` (the home folder of the user the agent
 * runs as). In `neverQuarantine.paths` a pattern with `*`, `?` or `**` is a glob, anything else a folder or file prefix.
 */
const workstationPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith('/') || p.startsWith('~/') || /^[A-Za-z]:[\\/]/.test(p), {
    message: 'an absolute path or one starting with ~/',
  });

/**
 * A publisher whose signed files are never quarantined. `name` is compared, without regard to case and otherwise
 * exactly, with the signing certificate's subject O (organization), or its CN when it has no O. `caSha256` pins trust:
 * the signer's chain, checked signature by signature through the certificates embedded in the signature, must reach a
 * certificate whose SHA-256 (of its DER) is listed (an intermediate such as "… Code Signing PCA", or the signing
 * certificate itself); without a pin anyone could sign in any name. Only Authenticode-signed PE files have a publisher.
 * @since 1 (group actions, issue 8)
 */
export const publisherRuleSchema = z
  .object({
    name: z.string().min(1).max(256),
    caSha256: z.array(sha256).min(1).max(20),
  })
  .strict();
export type PublisherRule = z.infer<typeof publisherRuleSchema>;

/**
 * What a group does when one of its workstations catches a threat (a `verdict` event with level `malicious`): an IOC
 * scan task for every other member, whose indicators the console builds from the object's facts. Console-side settings: they
 * are kept apart from the policy document the agents receive, and only users with `manage-ioc-tasks` may change them.
 * @since 1 (group actions)
 */
export const onThreatSchema = z
  .object({
    /** Create the group task at all. */
    scan: z.boolean().default(false),
    /** Quarantine what the scan finds (unless dry run or never-quarantine says otherwise). */
    quarantineOnMatch: z.boolean().default(false),
    /** Run a Critical Areas Scan on a workstation after its first match. */
    criticalAreasScan: z.boolean().default(false),
    /** Scan and report what would be quarantined, act on nothing. */
    dryRun: z.boolean().default(false),
    /** Give the task to this share of the group first; the rest get it once every canary finished without failure. */
    canaryPercent: z.number().min(1).max(100).optional(),
    /** Never give the task to more workstations than this (the others are listed as over the limit). */
    maxWorkstations: z.number().int().positive().optional(),
    /** Where the scan looks: `critical`, `system`, or paths (absolute or `~/…`). */
    scope: z.union([z.enum(['critical', 'system']), z.array(workstationPath).min(1).max(100)]).default('critical'),
    /** `afterThreat`: at once; `idle`: while the screen is locked. */
    runMode: z.enum(['afterThreat', 'idle']).default('afterThreat'),
    /** Matches found here are reported, never quarantined. */
    neverQuarantine: z
      .object({
        paths: z.array(workstationPath).max(1000).default([]),
        sha256: z.array(sha256).max(10_000).optional(),
        /** Files signed by these publishers (Authenticode, checked on the workstation). @since 1 (issue 8) */
        publishers: z.array(publisherRuleSchema).max(100).default([]),
      })
      .strict()
      .default({ paths: [], publishers: [] }),
    /**
     * What counts as a second witness in this group besides the console's own sandbox look-up and an operator's
     * approval: `agents` distinct workstations reporting the object malicious (default: the console's
     * `witness.agents`, itself 2 by default; at least 2, since one is the workstation that reported it). Until a
     * witness, the group task scans and reports only. @since 1 (issue 14)
     */
    witness: z
      .object({ agents: z.number().int().min(2).max(100_000).optional() })
      .strict()
      .optional(),
  })
  .strict();
export type OnThreat = z.infer<typeof onThreatSchema>;

export const groupActionsSchema = z
  .object({
    onThreat: onThreatSchema,
    /** A workstation that has not picked the task up after this long (offline) never starts it. */
    taskExpiresHours: z
      .number()
      .positive()
      .max(24 * 90)
      .default(168),
  })
  .strict();
export type GroupActions = z.infer<typeof groupActionsSchema>;
export type GroupActionsInput = z.input<typeof groupActionsSchema>;
