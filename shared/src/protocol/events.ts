import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { envelopeBase } from './envelope.ts';
import { jobSchema } from './messages/job.ts';

/** Agent → client pushes, not tied to a request. */
export const eventSchema = lazySchema(() =>
  z.discriminatedUnion('type', [
    /** A job changed state (queued → analysing → done/error); carries the whole job. @since 1 */
    z.object({ ...envelopeBase, kind: z.literal('event'), type: z.literal('job-update'), payload: jobSchema }),
    /** The agent's situation for the person: servers reachable, queue full… @since 1 */
    z.object({
      ...envelopeBase,
      kind: z.literal('event'),
      type: z.literal('agent-status'),
      payload: z.object({ serversReachable: z.boolean(), queueFull: z.boolean() }),
    }),
  ]),
);
export type PushEvent = z.infer<typeof eventSchema>;

/** Anything that may arrive at a client: a response or an event. */
export { responseSchema } from './envelope.ts';
