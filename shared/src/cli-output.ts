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
