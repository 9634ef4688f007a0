import { SandgateError, type ActionResult } from '@sandgate/shared';
import type { ResponseAction } from './response-action.ts';

/** Moves a verified copy of the judged object into quarantine and deletes the original. */
export const quarantineAction: ResponseAction = {
  name: 'quarantine',
  enabled: (policy) => policy.response.quarantine,
  async run(ctx, job): Promise<ActionResult> {
    try {
      const { id } = await ctx.quarantineObject({
        home: ctx.home,
        path: job.path,
        expectedSha256: job.sha256,
        verdict: job.verdict,
        provenance: job.provenance,
        jobId: job.jobId,
      });
      ctx.events.append(
        { type: 'quarantined', jobId: job.jobId, path: job.path, sha256: job.sha256, quarantineId: id, ...threat(job.verdict.threat) },
        ctx.clock.now(),
      );
      return { type: 'quarantine', status: 'done', id };
    } catch (err) {
      const e = err instanceof SandgateError ? err : new SandgateError('QUARANTINE_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
      ctx.log.warn('quarantine failed', { jobId: job.jobId, code: e.code });
      ctx.events.append(
        { type: 'quarantine-failed', jobId: job.jobId, path: job.path, sha256: job.sha256, code: e.code, message: e.message, ...threat(job.verdict.threat) },
        ctx.clock.now(),
      );
      return { type: 'quarantine', status: 'failed', code: e.code, message: e.message };
    }
  },
};

function threat(t: string | undefined): { threat?: string } {
  return t ? { threat: t } : {};
}
