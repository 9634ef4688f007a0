import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobSchema, type AgentEvent, type Job } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { generateOpenIoc, subjectFromJob, type IocSubject } from '../ioc/generate-ioc.ts';
import { loadStoreKeys, readItemMetadata } from '../quarantine/read-item.ts';
import { isItemId, storeDir } from '../quarantine/store-layout.ts';
import { OBJECT_SUFFIX, RECORD_SUFFIX, queueRecordSchema } from '../queue/queue-record.ts';
import { hashFile } from '../scan/file-hasher.ts';

/**
 * The OpenIOC 1.1 document for the object of a malicious `verdict` event, shipped with the event so the console can
 * hand it to the rest of the group. Generated here, with the generator the local `ioc-scan` action uses, because only
 * the agent knows the object: its size and the sandbox's indicators (from the job), its SHA-1 and MD5 (from the queued
 * copy, the quarantine item or the original while it still has the judged bytes).
 *
 * Undefined when the job cannot be found yet (the caller tries again: the event is written a moment before the job
 * record settles).
 */
export async function iocForVerdict(home: string, event: AgentEvent): Promise<{ sha256: string; xml: string } | undefined> {
  if (event.type !== 'verdict' || event.level !== 'malicious' || !event.jobId || !event.sha256) return undefined;
  const job = findJob(home, event.jobId);
  if (!job || job.sha256 !== event.sha256) return undefined;
  const subject = await withMoreHashes(home, job);
  return { sha256: job.sha256, xml: generateOpenIoc(subject).xml };
}

/** The job from the queue (unfinished) or the finished-jobs journal (newest line wins). */
function findJob(home: string, jobId: string): Job | undefined {
  const paths = sandgatePaths(home);
  try {
    const rec = queueRecordSchema.safeParse(JSON.parse(readFileSync(join(paths.queue, jobId + RECORD_SUFFIX), 'utf8')));
    if (rec.success) return rec.data.job;
  } catch {
    // not in the queue (finished) or being rewritten: the journal then
  }
  let found: Job | undefined;
  let text = '';
  try {
    text = readFileSync(join(home, 'jobs', 'finished.jsonl'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(jobId)) continue;
    try {
      const r = jobSchema.safeParse(JSON.parse(line));
      if (r.success && r.data.jobId === jobId) found = r.data;
    } catch {
      // a torn last line
    }
  }
  return found;
}

async function withMoreHashes(home: string, job: Job): Promise<IocSubject> {
  const base = subjectFromJob(job);
  const item = quarantineItemOf(home, job.jobId);
  if (item?.sha1 && item.md5) return { ...base, sha1: item.sha1, md5: item.md5 };
  for (const path of [join(sandgatePaths(home).queue, job.sha256 + OBJECT_SUFFIX), job.path]) {
    const read = await hashFile(path, new Set(['sha256', 'sha1', 'md5'])).catch(() => undefined);
    if (read?.hashes.sha256 === job.sha256) return { ...base, sha1: read.hashes.sha1, md5: read.hashes.md5 };
  }
  return base;
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
