import { z } from 'zod';

/** Response actions, as `PRODUCT.md` names them. */
export const actionTypeSchema = z.enum(['quarantine', 'critical-areas-scan', 'ioc-scan']);
export const actionStatusSchema = z.enum(['done', 'scheduled', 'skipped', 'failed']);

export const actionResultSchema = z.object({
  type: actionTypeSchema,
  status: actionStatusSchema,
  /** The quarantine item, scan or task id, when there is one. */
  id: z.string().optional(),
  /** Why it was skipped or failed: an error code from the registry. */
  code: z.string().optional(),
  message: z.string().optional(),
});
export type ActionResult = z.infer<typeof actionResultSchema>;
