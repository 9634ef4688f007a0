import { lstat } from 'node:fs/promises';
import { SandgateError, type ActionResult } from '@sandgate/shared';
import { applyLimitsAfterQuarantine } from '../quarantine/enforce-limits.ts';
import type { ResponseAction } from './response-action.ts';

/**
 * Moves a verified copy of the judged object into quarantine and deletes the original. Its `quarantined` or
 * `quarantine-failed` event is written by runResponseActions with the result, so a crash cannot separate them.
 */
export const quarantineAction: ResponseAction = {
  name: 'quarantine',
  enabled: (policy) => policy.response.quarantine,
  async run(ctx, job): Promise<ActionResult> {
    try {
      const { id } = await ctx.quarantineObject({
        path: job.path,
        expectedSha256: job.sha256,
        verdict: job.verdict,
        provenance: job.provenance,
        jobId: job.jobId,
      });
      await applyLimitsAfterQuarantine(ctx.quarantineStore, ctx.quarantineLimits, { now: ctx.clock.now(), keep: id, log: ctx.log });
      return { type: 'quarantine', status: 'done', id };
    } catch (err) {
      const e =
        err instanceof SandgateError
          ? err
          : new SandgateError('QUARANTINE_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
      ctx.log.warn('quarantine failed', { jobId: job.jobId, code: e.code });
      return { type: 'quarantine', status: 'failed', code: e.code, message: e.message };
    }
  },
  /**
   * Every item records the job that made it. No item of this job: the interrupted run never stored a copy, so it
   * cannot have deleted the original either, and running it again is safe (quarantineObject still only touches the
   * original if it has exactly the judged bytes). An item and no original: it finished. An item and an original still
   * there: it stopped between storing and deleting; it runs again (a fresh verified copy, then the original deleted)
   * and the earlier copy is removed, so the store holds one item per job.
   */
  async resume(ctx, job) {
    const earlier = ctx.quarantineStore.find((m) => m.jobId === job.jobId)?.id;
    if (!earlier) return 'run-again';
    if (!(await lstat(job.path).catch(() => undefined))) return { type: 'quarantine', status: 'done', id: earlier };
    const result = await quarantineAction.run(ctx, job);
    if (result.status !== 'done')
      return { ...result, message: `${result.message ?? ''} (an earlier copy is kept as quarantine item ${earlier})`.trim() };
    await ctx.quarantineStore
      .delete(earlier, { reason: `a duplicate of ${result.id ?? 'a newer item'} left by an interrupted quarantine` })
      .catch((err: unknown) => ctx.log.warn('a duplicate quarantine copy could not be removed', { id: earlier, error: String(err) }));
    return result;
  },
};
