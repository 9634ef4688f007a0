import { existsSync, readdirSync } from 'node:fs';
import { generateOpenIoc, subjectFromJob, type IocSubject } from '../ioc/generate-ioc.ts';
import { loadStoreKeys, readItemMetadata } from '../quarantine/read-item.ts';
import { isItemId, storeDir } from '../quarantine/store-layout.ts';
import { hashFile } from '../scan/file-hasher.ts';
import { failed } from './critical-areas-scan-action.ts';
import type { JudgedJob, ResponseAction } from './response-action.ts';

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
      const ioc = generateOpenIoc(await subjectOf(ctx.home, job), { now: ctx.clock.now() });
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

/**
 * The object with its SHA-1 and MD5 too (a job knows only the SHA-256): from this job's quarantine item, or from the
 * original when it is still there with the judged bytes. The three hashes then sit under the size term, so a scan
 * reads only files of that size; a sandbox's MD5 of the object that the IOC did not know as the object's own would
 * otherwise be a term of its own and make every file in scope be read.
 */
async function subjectOf(home: string, job: JudgedJob): Promise<IocSubject> {
  const item = quarantineItemOf(home, job.jobId);
  if (item) return { ...subjectFromJob(job), sha1: item.sha1, md5: item.md5 };
  const read = await hashFile(job.path, new Set(['sha256', 'sha1', 'md5'])).catch(() => undefined);
  if (read?.hashes.sha256 === job.sha256) return { ...subjectFromJob(job), sha1: read.hashes.sha1, md5: read.hashes.md5 };
  return subjectFromJob(job);
}

function quarantineItemOf(home: string, jobId: string) {
  if (!existsSync(storeDir(home))) return undefined;
  try {
    const keys = loadStoreKeys(home);
    for (const name of readdirSync(storeDir(home))) {
      const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      if (!isItemId(id)) continue;
      try {
        const meta = readItemMetadata(home, id, keys);
        if (meta.jobId === jobId) return meta;
      } catch {
        // unreadable or tampered: not evidence of anything
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}
