import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '@sandgate/shared';
import { EventLog } from '#native-host/events/event-log.ts';
import type { JobStore } from '#native-host/queue/job-store.ts';
import { MemoryJobStore } from '#native-host/queue/memory-job-store.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';

// The same rules for both JobStore implementations: the response actions are tested on the memory one, so it must
// behave as the disk one the agent runs on.

let root: string;
let events: EventLog;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sg-jobstore-'));
  mkdirSync(join(root, 'dl'));
  events = new EventLog(join(root, 'events'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

interface Harness {
  store: JobStore;
  /** An unfinished job for a downloaded file. */
  add(name: string): Promise<Job>;
  finish(jobId: string): Promise<void>;
}

async function onDisk(): Promise<Harness> {
  const q = await RequestQueue.open({ dir: join(root, 'queue'), journalFile: join(root, 'jobs.jsonl'), maxBytes: 1 << 20, events });
  return {
    store: q,
    add: async (name) => {
      writeFileSync(join(root, 'dl', name), `MZ ${name}`);
      return q.enqueue(join(root, 'dl', name), { source: 'cli' });
    },
    finish: async (jobId) => void (await q.commit(jobId, {})),
  };
}

async function inMemory(): Promise<Harness> {
  const store = new MemoryJobStore(events);
  let n = 0;
  return {
    store,
    add: async (name) => {
      const job: Job = {
        jobId: `j${++n}`,
        state: 'queued',
        path: join(root, 'dl', name),
        sha256: String(n).padStart(64, '0'),
        size: 1,
        provenance: { source: 'cli' },
        acceptedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
      };
      store.add(job);
      return job;
    },
    finish: async (jobId) => void store.finish(jobId),
  };
}

const logged = (type: string) => events.read().events.filter((e) => e.type === type);

describe.each([
  ['on disk (RequestQueue)', onDisk],
  ['in memory (MemoryJobStore)', inMemory],
])('the job store %s', (_name, make) => {
  it('logs an event recorded with a change once, however often the change is recorded again', async () => {
    const h = await make();
    const job = await h.add('a.exe');
    const verdict = {
      what: 'verdict',
      event: { type: 'verdict' as const, path: job.path, sha256: job.sha256, level: 'malicious' as const, message: 'm' },
    };
    await h.store.update(job.jobId, { job: { state: 'analysing' }, events: [verdict] });
    await h.store.update(job.jobId, { events: [verdict] });
    expect(logged('verdict')).toEqual([expect.objectContaining({ jobId: job.jobId, level: 'malicious' })]);
    expect(h.store.get(job.jobId)?.state).toBe('analysing');
  });

  it('remembers which response actions began, each once', async () => {
    const h = await make();
    const job = await h.add('a.exe');
    await h.store.update(job.jobId, { actionStarted: 'quarantine' });
    await h.store.update(job.jobId, { actionStarted: 'quarantine' });
    await h.store.update(job.jobId, { actionStarted: 'ioc-scan' });
    expect(h.store.actionsStarted(job.jobId)).toEqual(['quarantine', 'ioc-scan']);
  });

  it('moves a job’s original only from where it is now', async () => {
    const h = await make();
    const job = await h.add('a.exe');
    expect(await h.store.relocate(job.jobId, '/elsewhere/a.exe', '/x/a.exe')).toBe(false);
    expect(await h.store.relocate(job.jobId, job.path, join(root, 'dl', 'b.exe'))).toBe(true);
    expect(h.store.get(job.jobId)?.path).toBe(join(root, 'dl', 'b.exe'));
    expect(await h.store.relocate('j-unknown', job.path, '/x')).toBe(false);
  });

  it('lists the unfinished jobs of an object oldest first, and refuses to change a finished job', async () => {
    const h = await make();
    const a = await h.add('a.exe');
    const b = await h.add('b.exe');
    expect(h.store.jobsFor(a.sha256).map((j) => j.jobId)).toEqual([a.jobId]);
    await h.finish(a.jobId);
    expect(h.store.jobsFor(a.sha256)).toEqual([]);
    await expect(h.store.update(a.jobId, { job: { state: 'queued' } })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(h.store.get(a.jobId)?.state).toBe('done');
    expect(h.store.list(10).map((j) => j.jobId)).toEqual([b.jobId, a.jobId]);
  });
});
