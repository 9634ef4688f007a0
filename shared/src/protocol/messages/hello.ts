import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.ts';

/** First exchange on every connection: versions and capabilities. @since 1 */
export const helloRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('hello'),
    payload: z.object({
      /** Oldest protocol version the sender accepts. */
      minV: z.number().int().min(1),
      /** Capabilities the sender understands. Unknown names are ignored. */
      capabilities: z.array(z.string().max(64)).max(64),
      /** e.g. `sandgate-extension/0.1.0 chromium` or `sandgate-cli/0.1.0`. */
      client: z.string().max(128),
    }),
  }),
);

export const helloResultSchema = lazySchema(() =>
  z.object({
    /** Protocol version the agent speaks. */
    v: z.number().int(),
    appVersion: z.string(),
    capabilities: z.array(z.string()),
  }),
);
export type HelloResult = z.infer<typeof helloResultSchema>;
