import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * The part of STIX 2.1 JSON an IOC scan reads: bundles and `indicator` objects (STIX 2.1 §4.7, §8). Every other SDO,
 * SRO or SCO in a bundle is kept as an opaque object with a `type` (so a real bundle with reports, malware and
 * relationships loads) and ignored. Unknown properties are allowed, as the specification requires of consumers.
 * @since issue 18
 */

/** `indicator--<uuid>` and the like: `type--uuid`. */
const stixIdSchema = lazySchema(() => z.string().regex(/^[a-z][a-z0-9-]{0,249}--[0-9a-fA-F-]{36}$/, 'not a STIX identifier (type--uuid)'));

/** STIX timestamps are RFC 3339 in UTC (`Z`); fractions of a second allowed. */
const stixTimestampSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)');

export const stixIndicatorSchema = lazySchema(() =>
  z.looseObject({
    type: z.literal('indicator'),
    spec_version: z.string().max(16).optional(),
    id: stixIdSchema,
    created: stixTimestampSchema.optional(),
    modified: stixTimestampSchema.optional(),
    name: z.string().max(4096).optional(),
    description: z
      .string()
      .max(1024 * 1024)
      .optional(),
    /** The pattern, in the language `pattern_type` names; only `stix` is evaluated by the STIX engine. */
    pattern: z.string().max(1024 * 1024),
    /** `stix`, `pcre`, `sigma`, `snort`, `suricata`, `yara`… (an open vocabulary). */
    pattern_type: z.string().min(1).max(256),
    pattern_version: z.string().max(64).optional(),
    /** The indicator is not considered before this time (required by STIX 2.1; 2.0 files may lack it). */
    valid_from: stixTimestampSchema.optional(),
    /** Nor after this time. */
    valid_until: stixTimestampSchema.optional(),
    revoked: z.boolean().optional(),
  }),
);
export type StixIndicator = z.infer<typeof stixIndicatorSchema>;

/** Any other STIX object: only its `type` and `id` are read. */
export const stixObjectSchema = lazySchema(() => z.looseObject({ type: z.string().min(1).max(256), id: z.string().max(300).optional() }));

export const stixBundleSchema = lazySchema(() =>
  z.looseObject({
    type: z.literal('bundle'),
    id: stixIdSchema,
    objects: z.array(stixObjectSchema).max(1_000_000).optional(),
  }),
);
export type StixBundle = z.infer<typeof stixBundleSchema>;
