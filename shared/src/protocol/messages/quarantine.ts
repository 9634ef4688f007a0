import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.ts';
import { quarantineListItemSchema } from '../../cli-output.ts';
import { sha256Schema } from '../../verdict.ts';

/**
 * `list-quarantine`: the quarantine items, newest first, optionally only those one browser family captured. The
 * extension shows the person what was taken from *their* browser, never the whole machine's list of other sources.
 * @since 1 (issue 4)
 */
export const listQuarantineRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('list-quarantine'),
    payload: z
      .object({
        /** Provenance browser family (chromium, chrome, edge, brave, firefox); absent for every item. */
        browser: z.string().max(32).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      })
      .default({ limit: 50 }),
  }),
);

export const browserQuarantineItemSchema = lazySchema(() =>
  quarantineListItemSchema.extend({
    /** Why it was quarantined, in the agent's words. */
    reason: z.string().optional(),
    browser: z.string().optional(),
    /** The browser's download id, so the extension can tie the item to its own record. */
    downloadId: z.number().int().nonnegative().optional(),
  }),
);
export type BrowserQuarantineItem = z.infer<typeof browserQuarantineItemSchema>;

/**
 * What became of a restore the person asked an administrator for (`restore-quarantined` answered `requested`), kept
 * by the agent after the item has left the quarantine: `requested` (no answer yet), `declined` (with the
 * administrator's `reason`), `approved` (the restore has not run yet), `restored` (to `path`) or `refused` (approved,
 * but this workstation refused the restore: `code` and `message` say why). @since 1 (issue 17)
 */
export const restoreAnswerViewSchema = lazySchema(() =>
  z.object({
    quarantineId: z.string().max(128),
    state: z.enum(['requested', 'declined', 'approved', 'restored', 'refused']),
    /** When it got to this state (ISO 8601). */
    at: z.string(),
    reason: z.string().max(2000).optional(),
    path: z.string().max(4096).optional(),
    code: z.string().max(64).optional(),
    message: z.string().max(2000).optional(),
  }),
);
export type RestoreAnswerView = z.infer<typeof restoreAnswerViewSchema>;

export const listQuarantineResultSchema = lazySchema(() =>
  z.object({
    items: z.array(browserQuarantineItemSchema),
    /** `quarantine.usersMayRestore` from the policy: whether `restore-quarantined` restores or only asks an administrator. */
    usersMayRestore: z.boolean(),
    /** This browser's restore requests and their answers (`restoreAnswerViewSchema`). @since 1 (issue 17) */
    answers: z.array(restoreAnswerViewSchema).max(200).optional(),
  }),
);
export type ListQuarantineResult = z.infer<typeof listQuarantineResultSchema>;

/**
 * `restore-quarantined`: the person asks for an item back. When the policy lets users restore, the agent restores it to
 * its original place (never over an existing file, never through a link); otherwise it records a `restore-requested`
 * event for the administrator and answers `requested`. @since 1 (issue 4)
 */
export const restoreQuarantinedRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('restore-quarantined'),
    payload: z.object({ id: z.string().regex(/^[0-9a-f]{32}$/) }),
  }),
);
export const restoreQuarantinedResultSchema = lazySchema(() =>
  z.discriminatedUnion('outcome', [
    z.object({ outcome: z.literal('restored'), path: z.string() }),
    z.object({ outcome: z.literal('requested') }),
  ]),
);
export type RestoreQuarantinedResult = z.infer<typeof restoreQuarantinedResultSchema>;

/** Suffix of a download held until its verdict (`capture.pendingVerdict` = `hold`). */
export const HELD_SUFFIX = '.sandgate-hold';

/**
 * `release-held`: publish a held download under its final name, i.e. `path` without {@link HELD_SUFFIX}, or the next
 * free `name (N).ext` when that name is taken. Only the held file of a job this browser submitted, only once that job's
 * verdict is clean (or malicious and a known false positive, `response.allowSha256`), or before any verdict when the
 * agent's policy says `capture.pendingVerdict.onUnavailable: release` and no server is reachable (RELEASE_NOT_JUDGED
 * otherwise). The agent re-hashes the held file and refuses (ORIGINAL_CHANGED) unless it still has the judged content,
 * and gives it back the permission bits it recorded when it held it; no mode comes from the browser. @since 1 (issue 7;
 * issue 14: `jobId` required, `mode` gone)
 */
export const releaseHeldRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('release-held'),
    payload: z.object({
      path: z.string().min(1).max(4096),
      /** The content that was judged (or, released unjudged, that was accepted); must be the job's. */
      sha256: sha256Schema,
      /**
       * The agent's job for it. Released before its verdict (`onUnavailable: release`), the job's object then lives under
       * the published name, and a later malicious verdict must quarantine that file, not the vanished held name.
       */
      jobId: z.string().min(1).max(128),
    }),
  }),
);
export const releaseHeldResultSchema = lazySchema(() => z.object({ path: z.string() }));
export type ReleaseHeldResult = z.infer<typeof releaseHeldResultSchema>;
