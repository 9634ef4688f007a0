import { z } from 'zod';
import { lazySchema } from './lazy-schema.ts';

/**
 * What an object is by its content, as the agent found it. The extension decides what to capture by file name and
 * MIME type, which a web server controls; the agent reads the bytes and says what they really are.
 */
export const CONTENT_KINDS = ['executable', 'script', 'document', 'archive', 'media', 'text', 'unknown'] as const;
export const contentKindSchema = lazySchema(() => z.enum(CONTENT_KINDS));
export type ContentKind = z.infer<typeof contentKindSchema>;

export const contentTypeSchema = lazySchema(() =>
  z.object({
    kind: contentKindSchema,
    /** The format that was recognised, e.g. `pe`, `elf`, `pdf`, `ole2`, `zip`, `png`; `unknown` when none was. */
    format: z.string(),
    /** True when the file name claims something harmless-looking (a document, an image) but the content executes. */
    disguised: z.boolean(),
  }),
);
export type ContentType = z.infer<typeof contentTypeSchema>;
