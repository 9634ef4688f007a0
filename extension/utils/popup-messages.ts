import { z } from 'zod';

/**
 * What the popup asks of the worker (`runtime.sendMessage`). The worker owns the one native port, so every request to
 * the agent goes through it; the popup renders from storage and asks only for these.
 */
export const popupMessageSchema = z.discriminatedUnion('type', [
  /** Ask the agent again for this browser's quarantine items. */
  z.object({ type: z.literal('sandgate.refresh-quarantine') }),
  /** The person asks for a quarantined item back. */
  z.object({ type: z.literal('sandgate.restore'), quarantineId: z.string().regex(/^[0-9a-f]{32}$/) }),
]);
export type PopupMessage = z.infer<typeof popupMessageSchema>;

export const restoreAnswerSchema = z.object({
  outcome: z.enum(['restored', 'requested', 'failed']),
  path: z.string().optional(),
  message: z.string().optional(),
});
export type RestoreAnswer = z.infer<typeof restoreAnswerSchema>;
