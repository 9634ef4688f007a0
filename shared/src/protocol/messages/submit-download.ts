import { z } from 'zod';
import { provenanceSchema } from '../../provenance.ts';

/**
 * A captured download: the absolute path of the completed file plus where it came from. The agent re-checks the path
 * (absolute, no links, regular file, owned by the agent's user) and decides by content, not by the browser's word.
 * @since 1
 */
export const submitDownloadRequestSchema = z.object({
  type: z.literal('submit-download'),
  payload: z.object({
    path: z.string().min(1).max(4096),
    provenance: provenanceSchema,
  }),
});

/** Same as submit-download, from the command line. Not accepted from the browser. @since 1 */
export const submitFileRequestSchema = z.object({
  type: z.literal('submit-file'),
  payload: z.object({ path: z.string().min(1).max(4096) }),
});

export const submitResultSchema = z.object({
  jobId: z.string(),
  sha256: z.string(),
  size: z.number().int().nonnegative(),
  /** `queued` normally; `done` when a cached verdict answered at once. */
  state: z.string(),
});
export type SubmitResult = z.infer<typeof submitResultSchema>;
