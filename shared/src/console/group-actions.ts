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
    name: z
      .string()
      .min(1)
      .max(256)
      .describe("Compared, without regard to case, with the signing certificate's organization (O), or its CN when it has no O."),
    caSha256: z
      .array(sha256)
      .min(1)
      .max(20)
      .describe(
        "SHA-256 (of the DER) of a certificate the signer's chain must reach: the pin without which anyone could sign in any name.",
      ),
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
    scan: z.boolean().default(false).describe('Create the group task at all.'),
    quarantineOnMatch: z
      .boolean()
      .default(false)
      .describe(
        'Quarantine what the scan finds (unless dry run or never-quarantine says otherwise; only once a second witness confirms the object).',
      ),
    criticalAreasScan: z.boolean().default(false).describe('Run a Critical Areas Scan on a workstation after its first match.'),
    dryRun: z.boolean().default(false).describe('Scan and report what would be quarantined, act on nothing.'),
    canaryPercent: z
      .number()
      .min(1)
      .max(100)
      .optional()
      .describe('Give the task to this share of the group first (percent); the rest get it once every canary finished without failure.'),
    maxWorkstations: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Never give the task to more workstations than this (the others are listed as over the limit).'),
    scope: z
      .union([z.enum(['critical', 'system']), z.array(workstationPath).min(1).max(100)])
      .default('critical')
      .describe('Where the scan looks: critical, system, or a list of paths (absolute or ~/…).'),
    runMode: z.enum(['afterThreat', 'idle']).default('afterThreat').describe('afterThreat: at once; idle: while the screen is locked.'),
    neverQuarantine: z
      .object({
        paths: z
          .array(workstationPath)
          .max(1000)
          .default([])
          .describe('Paths never quarantined: a pattern with *, ? or ** is a glob, anything else a folder or file prefix.'),
        sha256: z.array(sha256).max(10_000).optional().describe('SHA-256 of files never quarantined.'),
        /** @since 1 (issue 8) */
        publishers: z
          .array(publisherRuleSchema)
          .max(100)
          .default([])
          .describe('Files signed by these publishers (Authenticode, checked on the workstation).'),
      })
      .strict()
      .default({ paths: [], publishers: [] })
      .describe('Matches found here are reported, never quarantined.'),
    /**
     * What counts as a second witness in this group besides the console's own sandbox look-up and an operator's
     * approval: `agents` distinct workstations reporting the object malicious (default: the console's
     * `witness.agents`, itself 2 by default; at least 2, since one is the workstation that reported it). Until a
     * witness, the group task scans and reports only. @since 1 (issue 14)
     */
    witness: z
      .object({
        agents: z
          .number()
          .int()
          .min(2)
          .max(100_000)
          .optional()
          .describe("Distinct workstations reporting the object malicious that make a witness (default: the console's witness.agents, 2)."),
      })
      .strict()
      .optional()
      .describe(
        "What counts as a second witness in this group besides the console's sandbox and an operator's approval; until one, the task scans and reports only.",
      ),
  })
  .strict();
export type OnThreat = z.infer<typeof onThreatSchema>;

export const groupActionsSchema = z
  .object({
    onThreat: onThreatSchema.describe(
      'What the group does when one of its workstations catches a threat: an IOC scan task for every other member (console-side, never sent to agents).',
    ),
    taskExpiresHours: z
      .number()
      .positive()
      .max(24 * 90)
      .default(168)
      .describe('A workstation that has not picked the task up after this many hours (offline) never starts it.'),
  })
  .strict()
  .describe(
    'Console-only: what the group does about threats its workstations catch. Stored apart from the policy the agents receive; changing it needs manage-ioc-tasks.',
  );
export type GroupActions = z.infer<typeof groupActionsSchema>;
export type GroupActionsInput = z.input<typeof groupActionsSchema>;
