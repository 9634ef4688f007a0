import { z } from 'zod';
import { lazySchema } from './lazy-schema.ts';

/** The normalised verdict every sandbox backend is mapped to. */
export const verdictLevelSchema = lazySchema(() => z.enum(['malicious', 'suspicious', 'clean', 'unknown']));
export type VerdictLevel = z.infer<typeof verdictLevelSchema>;

export const sha256Schema = lazySchema(() => z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256'));

/** An indicator a sandbox returned with its verdict (feeds IOC generation later). */
export const indicatorSchema = lazySchema(() =>
  z.object({
    /** What kind of observable: a hash, a file name, a string, a network address… */
    type: z.string().min(1).max(64),
    value: z.string().max(4096),
    /** Which engine or rule produced it. */
    source: z.string().max(256).optional(),
  }),
);
export type Indicator = z.infer<typeof indicatorSchema>;

/** A verdict as the agent reports it: normalised level plus where it came from. */
export const verdictSchema = lazySchema(() =>
  z.object({
    level: verdictLevelSchema,
    /** Threat name, e.g. `EICAR-Test-File`; present for malicious and suspicious verdicts. */
    threat: z.string().max(512).optional(),
    /** The server that judged, as its policy URL. */
    server: z.string(),
    /** Backend score kept raw (sandgate-lab: 0–100; CAPE: malscore 0–10). */
    score: z.number().optional(),
    indicators: z.array(indicatorSchema).max(1000).optional(),
    /** The backend's own id for the analysis (CAPE/Cuckoo task id, sandgate-lab submission id), for an analyst to look up. */
    analysisId: z.string().max(256).optional(),
    /** When the server gave this verdict (ISO 8601). A cached verdict keeps the time it was first given. */
    judgedAt: z.string().datetime().optional(),
    /** True when the agent answered from its verdict cache (`sandbox.verdictCacheTtlMs`) without asking a server. */
    cached: z.boolean().optional(),
  }),
);
export type Verdict = z.infer<typeof verdictSchema>;
