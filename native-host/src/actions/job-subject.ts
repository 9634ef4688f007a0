import { join } from 'node:path';
import type { Job } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { QuarantineStore } from '../quarantine/quarantine-store.ts';
import { OBJECT_SUFFIX } from '../queue/queue-record.ts';
import { hashFile } from '../scan/file-hasher.ts';
import { subjectFromJob, type IocSubject } from '../ioc/generate-ioc.ts';

/**
 * What an IOC generated from a job says about its object: the job's SHA-256 and size, plus SHA-1 and MD5 from the
 * job's quarantine item, else read from the queued copy or the original, but only from bytes that still have the
 * judged SHA-256. With all three hashes a sandbox's MD5 of the object is recognised as the object's own, rather than
 * becoming a term of its own that makes every file in scope be read.
 */
export async function jobSubjectWithAllHashes(
  home: string,
  job: Job,
  store: QuarantineStore = QuarantineStore.open(home),
): Promise<IocSubject> {
  const base = subjectFromJob(job);
  const item = store.find((m) => m.jobId === job.jobId);
  if (item) return { ...base, sha1: item.sha1, md5: item.md5 };
  for (const path of [join(sandgatePaths(home).queue, job.sha256 + OBJECT_SUFFIX), job.path]) {
    const read = await hashFile(path, new Set(['sha256', 'sha1', 'md5'])).catch(() => undefined);
    if (read?.hashes.sha256 === job.sha256) return { ...base, sha1: read.hashes.sha1, md5: read.hashes.md5 };
  }
  return base;
}
