import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.ts';
import { provenanceSchema } from '../../provenance.ts';

/**
 * A captured download: the absolute path of the completed file plus where it came from. The agent re-checks the path
 * (inside a download folder, absolute, no links, regular file, owned by the agent's user) and decides by content, not
 * by the browser's word; `provenance.source` is always `browser` whatever the browser wrote. @since 1
 */
export const submitDownloadRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('submit-download'),
    payload: z.object({
      path: z.string().min(1).max(4096),
      provenance: provenanceSchema,
      /**
       * Hold it in place first (browsers that cannot hold a download before it lands, i.e. Firefox): the agent removes
       * every permission bit, moves it to `<name>.sandgate-hold`, records the bits it had, and queues the held file; the
       * answer's `heldPath` names it. Only a clean verdict (or the policy's unavailable-server rule) releases it, with the
       * bits the agent recorded. Sent again after a failure, it finds the hold it already made. @since 1 (issue 14;
       * replaces the `hold-landed` request, same capability)
       */
      hold: z.boolean().optional(),
    }),
  }),
);

/** Same as submit-download, from the command line. Not accepted from the browser. @since 1 */
export const submitFileRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('submit-file'),
    payload: z.object({ path: z.string().min(1).max(4096) }),
  }),
);

export const submitResultSchema = lazySchema(() =>
  z.object({
    jobId: z.string(),
    sha256: z.string(),
    size: z.number().int().nonnegative(),
    /** `queued` normally; `done` when a cached verdict answered at once. */
    state: z.string(),
    /** With `hold: true`: where the held download is now. */
    heldPath: z.string().optional(),
  }),
);
export type SubmitResult = z.infer<typeof submitResultSchema>;
