import { z } from 'zod';
import { lazySchema } from './lazy-schema.ts';
import { MAX_URL_CHARS } from './limits.ts';

/**
 * Where a captured download came from, as the browser saw it. All fields but `source` and `caller` (which the agent
 * sets itself) are advisory: never trusted for decisions.
 */
export const provenanceSchema = lazySchema(() =>
  z.object({
    /** `browser` for the extension, `cli` for `sandgate submit`, `scan-task` for an object an IOC scan task found. */
    source: z.enum(['browser', 'cli', 'scan-task']),
    /** Browser family that captured it (chromium, chrome, edge, brave, firefox). */
    browser: z.string().max(32).optional(),
    /** The browser's download id (persistent across browser sessions). */
    downloadId: z.number().int().nonnegative().optional(),
    /** URL before redirects. */
    url: z.string().max(MAX_URL_CHARS).optional(),
    /** URL after redirects. */
    finalUrl: z.string().max(MAX_URL_CHARS).optional(),
    referrer: z.string().max(MAX_URL_CHARS).optional(),
    /** MIME type as the browser reported it (Chromium on Linux rewrites it from the extension). */
    mime: z.string().max(256).optional(),
    /** ISO 8601 time the download started. */
    startTime: z.string().max(64).optional(),
    /** ISO 8601 time the download completed. */
    endTime: z.string().max(64).optional(),
    /**
     * The browser that handed it over (the request's `caller`, set by the native host): the agent writes this itself and
     * replaces whatever the browser put here. Only that browser may have its held download released. @since 1 (issue 14)
     */
    caller: z.string().max(300).optional(),
  }),
);
export type Provenance = z.infer<typeof provenanceSchema>;
