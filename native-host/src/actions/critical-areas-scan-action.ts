import { SandgateError, type ActionResult } from '@sandgate/shared';
import type { ActionContext, JudgedJob, ResponseAction } from './response-action.ts';

/**
 * A Critical Areas Scan after a threat: did the object already run, install itself, get copied where things start?
 * It runs as a task in the background (it takes seconds to a minute), so the job is committed at once with
 * `scheduled` and the task's id; `sandgate ioc task show ID` and the `scan-task-*` events report its result. The task
 * checks every SHA-256 judged malicious so far (this one included) and the IOCs of every active task.
 */
export const criticalAreasScanAction: ResponseAction = {
  name: 'critical-areas-scan',
  enabled: (policy) => policy.response.criticalAreasScan,
  async run(ctx, job) {
    if (!ctx.tasks) return unavailable();
    try {
      const task = await ctx.tasks.create({
        kind: 'critical-areas',
        createdBy: 'policy',
        jobId: job.jobId,
        scope: 'critical',
        runMode: 'afterThreat',
        onMatch: { quarantine: false, criticalAreasScan: false },
        iocs: [],
        sha256: [job.sha256],
      });
      return { type: 'critical-areas-scan', status: 'scheduled', id: task.id };
    } catch (err) {
      return failed('critical-areas-scan', ctx, job, err);
    }
  },
  /** The task carries the job id: found → it was created (and will run or ran); not found → nothing happened yet. */
  async resume(ctx, job) {
    const task = ctx.tasks?.findByJob(job.jobId, 'critical-areas');
    return task ? { type: 'critical-areas-scan', status: 'scheduled', id: task.id } : 'run-again';
  },
};

export function unavailable(): ActionResult {
  return { type: 'critical-areas-scan', status: 'skipped', message: 'scan tasks are not available in this process' };
}

export function failed(type: ActionResult['type'], ctx: ActionContext, job: JudgedJob, err: unknown): ActionResult {
  const e =
    err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
  ctx.log.warn(`${type} could not be scheduled`, { jobId: job.jobId, code: e.code, error: e.message });
  return { type, status: 'failed', code: e.code, message: e.message };
}
