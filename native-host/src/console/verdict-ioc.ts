import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobSchema, type AgentEvent, type Job, type ShippedEvent } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { parseSealedLines } from '../durable/sealed-lines.ts';
import { generateOpenIoc } from '../ioc/generate-ioc.ts';
import { jobSubjectWithAllHashes } from '../actions/job-subject.ts';
import { RECORD_SUFFIX, queueRecordSchema } from '../queue/queue-record.ts';

/**
 * The OpenIOC 1.1 document for the object of a malicious `verdict` event, and the object's size, MD5 and SHA-1,
 * shipped with the event: the console builds the group task's indicators from the facts (and keeps the IOC for
 * analysts). Generated here, with the generator the local `ioc-scan` action uses, because only
 * the agent knows the object: its size and the sandbox's indicators (from the job), its SHA-1 and MD5 (from the queued
 * copy, the quarantine item or the original while it still has the judged bytes).
 *
 * Undefined when the job cannot be found yet (the caller tries again: the event is written a moment before the job
 * record settles).
 */
export async function iocForVerdict(home: string, event: AgentEvent): Promise<Pick<ShippedEvent, 'ioc' | 'object'> | undefined> {
  if (event.type !== 'verdict' || event.level !== 'malicious' || !event.jobId || !event.sha256) return undefined;
  const job = findJob(home, event.jobId);
  if (!job || job.sha256 !== event.sha256) return undefined;
  const subject = await jobSubjectWithAllHashes(home, job);
  // The facts the console builds the group's indicators from (the IOC itself is kept there only as this agent's claim).
  const object = {
    size: subject.size,
    ...(subject.md5 ? { md5: subject.md5.toLowerCase() } : {}),
    ...(subject.sha1 ? { sha1: subject.sha1.toLowerCase() } : {}),
  };
  return { ioc: { sha256: job.sha256, xml: generateOpenIoc(subject).xml }, object };
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
  // Sealed lines, as JobJournal writes them (a torn or damaged one is skipped); the newest line of the job wins.
  for (const raw of parseSealedLines(text, { legacy: true }).values) {
    const r = jobSchema.safeParse(raw);
    if (r.success && r.data.jobId === jobId) found = r.data;
  }
  return found;
}
