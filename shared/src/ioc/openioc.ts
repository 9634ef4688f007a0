import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * The parsed model of an OpenIOC file (1.0 or 1.1), version-neutral: both versions reduce to the same tree of
 * `Indicator` (AND/OR) and `IndicatorItem` (one comparison). The native host parses XML into this; the console shows it.
 * Every node keeps the line it started on, so reports can point into the file.
 */

export const OPENIOC_NAMESPACES = {
  '1.0': 'http://schemas.mandiant.com/2010/ioc',
  '1.1': 'http://openioc.org/schemas/OpenIOC_1.1',
} as const;

export const openIocVersionSchema = lazySchema(() => z.enum(['1.0', '1.1']));
export type OpenIocVersion = z.infer<typeof openIocVersionSchema>;

/**
 * `IndicatorItem/@condition`. 1.0 defines `is`, `isnot`, `contains`, `containsnot`; 1.1 defines the others and moves
 * negation to `@negate`. Both versions accept all nine here (real 1.0 files written by later editors use 1.1 conditions).
 */
export const iocConditionSchema = lazySchema(() =>
  z.enum(['is', 'isnot', 'contains', 'containsnot', 'starts-with', 'ends-with', 'matches', 'greater-than', 'less-than']),
);
export type IocCondition = z.infer<typeof iocConditionSchema>;

export const iocOperatorSchema = lazySchema(() => z.enum(['AND', 'OR']));
export type IocOperator = z.infer<typeof iocOperatorSchema>;

/** One comparison: `Context/@search <condition> Content`. */
export const iocItemSchema = lazySchema(() =>
  z.object({
    kind: z.literal('item'),
    /** `IndicatorItem/@id`; files without one get `line:N`. */
    id: z.string().min(1).max(256),
    condition: iocConditionSchema,
    /** 1.1 `@negate`; always false in 1.0 files (they negate with `isnot` / `containsnot`). */
    negate: z.boolean(),
    /** 1.1 `@preserve-case`; false in 1.0 files (their string comparisons are case-insensitive). */
    preserveCase: z.boolean(),
    /** `Context/@document`, e.g. `FileItem`. */
    document: z.string().max(256),
    /** `Context/@search`, the term, e.g. `FileItem/Md5sum`. */
    search: z.string().min(1).max(1024),
    /** `Context/@type` (`mir`, `endpoint`, `event`…), kept for display. */
    contextType: z.string().max(64).optional(),
    /** `Content/@type` (`string`, `md5`, `int`, `date`, `IP`…). */
    contentType: z.string().max(64),
    /** `Content` text as written (strings untrimmed; other types trimmed). */
    content: z.string().max(1024 * 1024),
    line: z.number().int().positive(),
  }),
);
export type IocItem = z.infer<typeof iocItemSchema>;

export interface IocIndicator {
  kind: 'indicator';
  id: string;
  operator: IocOperator;
  children: (IocIndicator | IocItem)[];
  line: number;
}

/** `Indicator`: an AND or OR over items and nested indicators. */
export const iocIndicatorSchema: z.ZodType<IocIndicator> = lazySchema(() =>
  z.object({
    kind: z.literal('indicator'),
    id: z.string().min(1).max(256),
    operator: iocOperatorSchema,
    get children() {
      return z.array(z.union([iocItemSchema, iocIndicatorSchema])).max(1_000_000);
    },
    line: z.number().int().positive(),
  }),
);

export const iocLinkSchema = lazySchema(() =>
  z.object({ rel: z.string().max(256), href: z.string().max(4096).optional(), text: z.string().max(4096) }),
);

/** A whole OpenIOC file. */
export const openIocSchema = lazySchema(() =>
  z.object({
    version: openIocVersionSchema,
    /** `ioc/@id` or `OpenIOC/@id`; unique within a set. */
    id: z.string().min(1).max(256),
    lastModified: z.string().max(64).optional(),
    shortDescription: z.string().max(4096).optional(),
    description: z
      .string()
      .max(1024 * 1024)
      .optional(),
    authoredBy: z.string().max(1024).optional(),
    authoredDate: z.string().max(64).optional(),
    links: z.array(iocLinkSchema).max(10_000),
    /**
     * 1.0 `definition` / 1.1 `criteria`: the top-level indicators. Real files have one; when there are several, the file
     * matches when any of them does.
     */
    criteria: z.array(iocIndicatorSchema).max(10_000),
  }),
);
export type OpenIoc = z.infer<typeof openIocSchema>;
