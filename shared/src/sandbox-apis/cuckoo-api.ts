import { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';

/**
 * The parts of Cuckoo Sandbox 2.x's REST API (Flask, `cuckoo api`; cuckoosandbox/cuckoo `cuckoo/apps/api.py`) that
 * the agent reads. Only the fields the agent uses are declared; see docs/sandbox-backends.md.
 */

/** Every Cuckoo error: an HTTP status and `{"message": "..."}`. */
export const cuckooErrorSchema = lazySchema(() => z.object({ message: z.string() }));

/** A task as `tasks/view/<id>` and `tasks/list` describe it. */
export const cuckooTaskSchema = lazySchema(() =>
  z.object({
    id: z.number().int().nonnegative(),
    /** `pending`, `running`, `completed`, `reported`, `recovered`, `failed_analysis` / `failed_processing` / `failed_reporting`. */
    status: z.string(),
    sample_id: z.number().int().nullish(),
    /** `{}` for URL tasks. */
    sample: z.object({ sha256: z.string().optional() }).nullish(),
    /** Messages of what went wrong, for a failed task. */
    errors: z.array(z.string()).optional(),
  }),
);
export type CuckooTask = z.infer<typeof cuckooTaskSchema>;

/** `POST /tasks/create/file` → `{"task_id": 7}`; `null` when Cuckoo could not add the file (an empty file, say). */
export const cuckooCreateSchema = lazySchema(() => z.object({ task_id: z.number().int().nonnegative().nullable() }));

/** `GET /tasks/view/<id>` (404 `Task not found`). */
export const cuckooTaskViewSchema = lazySchema(() => z.object({ task: cuckooTaskSchema }));

/** `GET /tasks/list/<limit>/<offset>`, oldest completion first. */
export const cuckooTaskListSchema = lazySchema(() => z.object({ tasks: z.array(cuckooTaskSchema) }));

/** `GET /files/view/sha256/<h>` (404 `File not found`): the sample row, not a task. */
export const cuckooSampleViewSchema = lazySchema(() =>
  z.object({
    sample: z.object({ id: z.number().int().nonnegative(), sha256: z.string() }),
  }),
);

/** `GET /tasks/report/<id>` (404 `Report not found` until reported): the verdict keys of report.json only. */
export const cuckooReportSchema = lazySchema(() =>
  z.object({
    info: z.object({
      id: z.number().int().optional(),
      /** 0–10 in practice: the severity-weighted sum of the matched signatures. */
      score: z.number(),
    }),
    signatures: z
      .array(
        z.object({
          name: z.string().optional(),
          description: z.string().optional(),
          severity: z.number().optional(),
          /** Malware families a signature names (e.g. from YARA or anti-virus results). */
          families: z.array(z.string()).optional(),
        }),
      )
      .optional(),
    target: z.object({ file: z.object({ sha256: z.string().optional() }).optional() }).optional(),
  }),
);
export type CuckooReport = z.infer<typeof cuckooReportSchema>;

/** `GET /cuckoo/status`: the health check. */
export const cuckooStatusSchema = lazySchema(() =>
  z.object({
    version: z.string(),
    hostname: z.string().optional(),
    machines: z.object({ total: z.number().int().nonnegative(), available: z.number().int().nonnegative() }),
  }),
);
