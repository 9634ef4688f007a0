import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/** An error as it crosses a process boundary (native messaging, IPC, CLI `--json`). */
export const wireErrorSchema = lazySchema(() =>
  z.object({
    /** A code from the registry in `codes.ts`. Unknown codes from a newer peer are kept as strings. */
    code: z.string().min(1).max(64),
    /** Human-readable, safe to show; never contains secrets. */
    message: z.string().max(4096),
    /** Whether the same request may succeed later. */
    retryable: z.boolean(),
    /** Structured details (the offending key, server, path…). */
    params: z.record(z.string(), z.unknown()).optional(),
  }),
);
export type WireError = z.infer<typeof wireErrorSchema>;
