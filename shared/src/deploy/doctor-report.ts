import { z } from 'zod';

/**
 * `sandgate doctor --json`: one entry per thing looked at. Scripts and fleet tools read this, so fields are only ever
 * added, never renamed.
 */
export const doctorCheckSchema = z.object({
  /** What was looked at, e.g. `manifest chromium user`, `launcher`, `service`, `agent`, `policy`, `server https://…`. */
  check: z.string(),
  /** `fail` makes doctor exit 2; `warn` is worth knowing but works (e.g. the agent is started on demand). */
  status: z.enum(['ok', 'warn', 'fail']),
  /** What was found, with the path, key or URL concerned. */
  detail: z.string(),
  /** The error code (shared/src/errors/codes.ts) on `fail` and `warn`. */
  code: z.string().optional(),
  /** One line saying how to fix it, on `fail` and `warn`. */
  fix: z.string().optional(),
});
export type DoctorCheck = z.infer<typeof doctorCheckSchema>;

export const doctorReportSchema = z.object({
  /** True when no check failed. */
  ok: z.boolean(),
  checks: z.array(doctorCheckSchema),
});
export type DoctorReport = z.infer<typeof doctorReportSchema>;
