import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { indicatorSchema, sha256Schema, verdictLevelSchema } from '../verdict.ts';

/**
 * The Sandgate submission protocol (version 1), spoken by sandgate-lab and by the agent's `sandgate` server kind.
 * All paths are under `/api/v1/`; bodies are JSON except the upload, which is the raw object bytes.
 * See shared/PROTOCOL.md, "Submission protocol".
 */
export const LAB_PROTOCOL_VERSION = 1;

/** `GET /api/v1/health` */
export const labHealthSchema = lazySchema(() =>
  z.object({
    ok: z.literal(true),
    protocol: z.number().int(),
    server: z.string(),
    version: z.string(),
    engines: z.array(z.string()),
    /** `static` (sandgate-lab: signatures, rules, file type) or `dynamic` (the object is run). @since 1 */
    analysis: z.enum(['static', 'dynamic']).optional(),
    /** Largest upload the server accepts, in bytes; larger ones are answered 413 `TOO_LARGE`. @since 1 */
    maxUploadBytes: z.number().int().positive().optional(),
  }),
);
export type LabHealth = z.infer<typeof labHealthSchema>;

/** One engine's finding. */
export const labEngineResultSchema = lazySchema(() =>
  z.object({
    engine: z.string(),
    level: verdictLevelSchema,
    /** Signature or rule name. */
    name: z.string().optional(),
    detail: z.string().optional(),
  }),
);

/** The verdict part of a finished analysis. */
export const labVerdictSchema = lazySchema(() =>
  z.object({
    level: verdictLevelSchema,
    threat: z.string().optional(),
    /** 0 (nothing found) … 100 (certain). */
    score: z.number().min(0).max(100),
    engines: z.array(labEngineResultSchema),
    indicators: z.array(indicatorSchema),
  }),
);
export type LabEngineResult = z.infer<typeof labEngineResultSchema>;
export type LabVerdict = z.infer<typeof labVerdictSchema>;

export const labAnalysisStateSchema = lazySchema(() => z.enum(['queued', 'analysing', 'done', 'failed']));

/**
 * `GET /api/v1/files/{sha256}` (200; 404 when unknown), `POST /api/v1/submissions` (202) and
 * `GET /api/v1/submissions/{id}` (200) all answer with an analysis.
 */
export const labAnalysisSchema = lazySchema(() =>
  z.object({
    id: z.string(),
    sha256: sha256Schema,
    size: z.number().int().nonnegative(),
    state: labAnalysisStateSchema,
    submittedAt: z.string(),
    finishedAt: z.string().optional(),
    verdict: labVerdictSchema.optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    /**
     * Fingerprint of what the verdict was judged with: the server's engine version, its rules and its blocklist. A server
     * re-judges an analysis whose fingerprint is no longer its current one before answering with it. @since 1
     */
    inputs: z.string().max(128).optional(),
  }),
);
export type LabAnalysis = z.infer<typeof labAnalysisSchema>;

/** Any non-2xx answer. */
export const labErrorSchema = lazySchema(() => z.object({ error: z.object({ code: z.string(), message: z.string() }) }));

/**
 * Long poll: `GET /api/v1/submissions/{id}?wait=MS` holds the answer until the analysis is done or failed, or MS pass
 * (capped here). A server that ignores `wait` answers at once, which is still correct: the client then sleeps.
 */
export const LAB_MAX_WAIT_MS = 25_000;

/** Upload headers: the agent states the hash and size; the server refuses a body that does not match them. */
export const LAB_HEADERS = {
  sha256: 'x-sandgate-sha256',
  /** URI-encoded original file name (advisory). */
  filename: 'x-sandgate-filename',
} as const;

/**
 * Codes a `sandgate` server puts in `labErrorSchema` answers (with the HTTP status). Clients match on them; they are a
 * separate registry from ERROR_CODES because they belong to the HTTP protocol, not to the agent. Append only.
 * @since 1
 */
export const LAB_ERROR_CODES = [
  /** 404: unknown path, unknown sha256 or unknown submission id. */
  'NOT_FOUND',
  /** 405: the path exists but not with this method. */
  'METHOD_NOT_ALLOWED',
  /** 400: a malformed header, sha256 or id. */
  'BAD_REQUEST',
  /** 411: an upload without Content-Length. */
  'LENGTH_REQUIRED',
  /** 413: an upload larger than the server accepts. */
  'TOO_LARGE',
  /** 400: the received bytes do not hash to `x-sandgate-sha256`. */
  'HASH_MISMATCH',
  /** 400: fewer or more bytes arrived than Content-Length said. */
  'SIZE_MISMATCH',
  /** 503: the server is shutting down or cannot store the object now; retry later. */
  'UNAVAILABLE',
  /** 500: anything else. */
  'INTERNAL',
  /** 401: no credential, or not the server's (bearer token or client certificate). Nothing else is revealed. */
  'UNAUTHENTICATED',
  /** 503: this client address (or the server) has too many connections open; retry later or elsewhere. */
  'TOO_MANY_CONNECTIONS',
  /** 503: the server is receiving as many uploads as it allows; retry later or elsewhere. */
  'TOO_MANY_UPLOADS',
  /** 408: an upload fell below the server's minimum rate; it was cut and nothing of it kept. */
  'UPLOAD_TOO_SLOW',
  /** 507: the object would not fit in the server's free disk space (less its reserve); nothing of it kept. */
  'INSUFFICIENT_STORAGE',
] as const;
export type LabErrorCode = (typeof LAB_ERROR_CODES)[number];

/**
 * Lab error codes that say "not now, not here" about the server rather than anything about the object or the client:
 * a client retries them later or on another server.
 */
export const LAB_BUSY_CODES: readonly LabErrorCode[] = [
  'UNAVAILABLE',
  'TOO_MANY_CONNECTIONS',
  'TOO_MANY_UPLOADS',
  'UPLOAD_TOO_SLOW',
  'INSUFFICIENT_STORAGE',
];
