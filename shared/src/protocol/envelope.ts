import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { wireErrorSchema } from '../errors/wire-error.ts';

/** Correlation id chosen by the requester; echoed in the response. */
export const correlationIdSchema = lazySchema(() => z.string().min(1).max(64));

/** Fields every message carries. `v` is the sender's protocol version. */
export const envelopeBase = { v: lazySchema(() => z.number().int().min(1).max(1000)) };

/** A response to the request with the same `id`. */
export const responseSchema = lazySchema(() =>
  z.discriminatedUnion('ok', [
    z.object({ ...envelopeBase, kind: z.literal('response'), id: correlationIdSchema, ok: z.literal(true), data: z.unknown() }),
    z.object({ ...envelopeBase, kind: z.literal('response'), id: correlationIdSchema, ok: z.literal(false), error: wireErrorSchema }),
  ]),
);
export type Response = z.infer<typeof responseSchema>;
