import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * The parts of CAPEv2's REST API v2 (`/apiv2/`, Django REST Framework; kevoreilly/CAPEv2 `web/apiv2/views.py`) that
 * the agent reads. Only the fields the agent uses are declared; everything else CAPE sends is ignored, so newer CAPE
 * versions that add keys still parse. See docs/sandbox-backends.md.
 */

/**
 * CAPE's `error` flag. Failures say `true` (often with HTTP 200); successes say `false` or, on task creation, an
 * empty list. A few views put a message string in `error` itself.
 */
export const capeErrorFlagSchema = lazySchema(() => z.union([z.boolean(), z.array(z.unknown()), z.string()]));

/** Whether an answer's `error` flag means failure: `true` or a non-empty message; `false` and `[]` mean success. */
export function capeFlagIsFailure(flag: unknown): boolean {
  return flag === true || (typeof flag === 'string' && flag.length > 0);
}

/** Any CAPE answer that reports a failure: `{"error": true, "error_value": "..."}`. */
export const capeFailureSchema = lazySchema(() =>
  z.object({
    error: capeErrorFlagSchema,
    /** Why; usually a string, occasionally a serialised exception. */
    error_value: z.unknown().optional(),
  }),
);

/** DRF's own answers (401/403 authentication, 429 throttling): `{"detail": "Request was throttled. …"}`. */
export const capeDetailSchema = lazySchema(() => z.object({ detail: z.string() }));

/**
 * `detections` in a report or task view. Current CAPE: `[{family, details: [{<detected_by>: <detected_on>}]}]`;
 * older CAPE wrote the family name as a plain string.
 */
export const capeDetectionsSchema = lazySchema(() =>
  z.union([
    z.string(),
    z.array(
      z.object({
        family: z.string(),
        details: z.array(z.record(z.string(), z.unknown())).optional(),
      }),
    ),
  ]),
);
export type CapeDetections = z.infer<typeof capeDetectionsSchema>;

/** A task as `tasks/search/…` and `tasks/view/<id>/` describe it. */
export const capeTaskSchema = lazySchema(() =>
  z.object({
    id: z.number().int().nonnegative(),
    /** `pending`, `running`, `completed`, `reported`, `failed_analysis` / `failed_processing` / `failed_reporting`, `banned`, `recovered`, `distributed`… */
    status: z.string(),
    /** The analysed file; for an archive CAPE unpacked, the file taken out of it. */
    sample: z.object({ sha256: z.string().optional() }).nullish(),
    /** Only in `tasks/view` and only when CAPE's report store (MongoDB/Elasticsearch) is on. */
    malscore: z.number().nullish(),
    detections: capeDetectionsSchema.nullish(),
  }),
);
export type CapeTask = z.infer<typeof capeTaskSchema>;

/** `GET /apiv2/tasks/search/sha256/<h>/` → every task of that file (or of the files unpacked from it). */
export const capeTaskSearchSchema = lazySchema(() => z.object({ error: capeErrorFlagSchema, data: z.array(capeTaskSchema) }));

/** `GET /apiv2/tasks/view/<id>/` */
export const capeTaskViewSchema = lazySchema(() => z.object({ error: capeErrorFlagSchema, data: capeTaskSchema }));

/** `GET /apiv2/tasks/status/<id>/` → `{"error": false, "data": "running"}` */
export const capeTaskStatusSchema = lazySchema(() => z.object({ error: capeErrorFlagSchema, data: z.string() }));

/** `POST /apiv2/tasks/create/file/` → `{"error": [], "data": {"task_ids": [123], "message": …}}`; an archive may become several tasks. */
export const capeCreateSchema = lazySchema(() =>
  z.object({
    error: capeErrorFlagSchema,
    data: z.object({ task_ids: z.array(z.number().int().nonnegative()).min(1), message: z.string().optional() }),
  }),
);

/** `GET /apiv2/tasks/get/report/<id>/` (the JSON report): the verdict keys only. */
export const capeReportSchema = lazySchema(() =>
  z.object({
    /** 0.0–10.0. */
    malscore: z.number().nullish(),
    /** `Malicious`, `Suspicious`, `Clean`, `Undetected`, `Failed`; absent in older CAPE. */
    malstatus: z.string().nullish(),
    detections: capeDetectionsSchema.nullish(),
    info: z.object({ id: z.number().int().optional() }).optional(),
  }),
);
export type CapeReport = z.infer<typeof capeReportSchema>;

/** `GET /apiv2/cuckoo/status/`: the health check. */
export const capeStatusSchema = lazySchema(() =>
  z.object({
    error: capeErrorFlagSchema,
    data: z.object({
      version: z.string(),
      hostname: z.string().optional(),
      machines: z.object({ total: z.number().int().nonnegative(), available: z.number().int().nonnegative() }),
    }),
  }),
);
