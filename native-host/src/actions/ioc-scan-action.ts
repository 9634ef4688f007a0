import { generateOpenIoc } from '../ioc/generate-ioc.ts';
import { jobSubjectWithAllHashes } from './job-subject.ts';
import { failed } from './critical-areas-scan-action.ts';
import type { ResponseAction } from './response-action.ts';

/**
 * An IOC scan task built from the verdict: an OpenIOC 1.1 file with the object's hashes, size, name, source host and
 * the sandbox's indicators, hunted in `response.iocScan.paths` or `scope`, in its `runMode`, acting per `onMatch`.
 * `scheduled` with the task id; the task keeps its own results (`sandgate ioc task show ID`).
 */
export const iocScanAction: ResponseAction = {
  name: 'ioc-scan',
  enabled: (policy) => policy.response.iocScan.create,
  async run(ctx, job) {
    const p = ctx.policy?.response.iocScan;
    if (!ctx.tasks || !p) return { type: 'ioc-scan', status: 'skipped', message: 'scan tasks are not available in this process' };
    try {
      const ioc = generateOpenIoc(await jobSubjectWithAllHashes(ctx.home, job, ctx.quarantineStore), { now: ctx.clock.now() });
      const task = await ctx.tasks.create({
        kind: 'ioc',
        createdBy: 'policy',
        jobId: job.jobId,
        scope: p.paths ?? p.scope,
        runMode: p.runMode,
        onMatch: p.onMatch,
        iocs: [{ bytes: new TextEncoder().encode(ioc.xml), source: `sandgate-${job.sha256.slice(0, 16)}.ioc` }],
      });
      return { type: 'ioc-scan', status: 'scheduled', id: task.id };
    } catch (err) {
      return failed('ioc-scan', ctx, job, err);
    }
  },
  async resume(ctx, job) {
    const task = ctx.tasks?.findByJob(job.jobId, 'ioc');
    return task ? { type: 'ioc-scan', status: 'scheduled', id: task.id } : 'run-again';
  },
};
