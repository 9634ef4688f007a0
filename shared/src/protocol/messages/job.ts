import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.ts';
import { verdictSchema } from '../../verdict.ts';
import { actionResultSchema } from '../../actions.ts';
import { provenanceSchema } from '../../provenance.ts';
import { contentTypeSchema } from '../../content-type.ts';
import { wireErrorSchema } from '../../errors/wire-error.ts';

/** Life of one submitted object. */
export const jobStateSchema = lazySchema(() => z.enum(['queued', 'analysing', 'done', 'error']));
export type JobState = z.infer<typeof jobStateSchema>;

/** A job as reported to clients (the extension popup, `sandgate status`, `submit --wait`). @since 1 */
export const jobSchema = lazySchema(() =>
  z.object({
    jobId: z.string(),
    state: jobStateSchema,
    path: z.string(),
    sha256: z.string(),
    size: z.number().int().nonnegative(),
    provenance: provenanceSchema,
    acceptedAt: z.string(),
    /** What the agent found the bytes to be (absent in jobs an older agent queued). */
    content: contentTypeSchema.optional(),
    /** When the verdict arrived. */
    finishedAt: z.string().optional(),
    verdict: verdictSchema.optional(),
    actions: z.array(actionResultSchema).optional(),
    error: wireErrorSchema.optional(),
  }),
);
export type Job = z.infer<typeof jobSchema>;

/** Ask for the recent jobs (newest first). @since 1 */
export const listJobsRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('list-jobs'),
    payload: z.object({ limit: z.number().int().min(1).max(200).default(50) }).default({ limit: 50 }),
  }),
);
export const listJobsResultSchema = lazySchema(() => z.object({ jobs: z.array(jobSchema) }));
