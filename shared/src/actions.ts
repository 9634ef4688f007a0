import { z } from 'zod';
import { lazySchema } from './lazy-schema.ts';

/** Response actions, as `PRODUCT.md` names them. */
export const actionTypeSchema = lazySchema(() => z.enum(['quarantine', 'critical-areas-scan', 'ioc-scan']));
export const actionStatusSchema = lazySchema(() => z.enum(['done', 'scheduled', 'skipped', 'failed']));

export const actionResultSchema = lazySchema(() =>
  z.object({
    type: actionTypeSchema,
    status: actionStatusSchema,
    /** The quarantine item, scan or task id, when there is one. */
    id: z.string().optional(),
    /** Why it was skipped or failed: an error code from the registry. */
    code: z.string().optional(),
    message: z.string().optional(),
  }),
);
export type ActionResult = z.infer<typeof actionResultSchema>;
