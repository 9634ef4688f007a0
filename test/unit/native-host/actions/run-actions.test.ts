import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SandgateError, policySchema, type Job, type Verdict } from '@sandgate/shared';
import { EventLog } from '#native-host/events/event-log.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';
import type { JobStore } from '#native-host/queue/job-store.ts';
import { MemoryJobStore } from '#native-host/queue/memory-job-store.ts';
import { runResponseActions } from '#native-host/actions/run-actions.ts';
import type { ActionContext } from '#native-host/actions/response-action.ts';
import { realClock } from '#native-host/clock.ts';
import { silentLogger } from '#native-host/log.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

let root: string;
let events: EventLog;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-actions-')));
  mkdirSync(join(root, 'dl'));
  events = new EventLog(join(root, 'events'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const policy = policySchema.parse({ sandbox: { servers: [{ url: 'https://127.0.0.1:1' }], serverCertificate: 'x' } });
const malicious: Verdict = { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://127.0.0.1:1' };

/** The response actions depend on the JobStore only: most run against the memory one, the crash test on disk. */
async function setup(quarantineObject: ActionContext['quarantineObject'], store: 'disk' | 'memory' = 'memory') {
  writeFileSync(join(root, 'dl', 'a.exe'), 'MZ');
  let q: JobStore;
  let job: Job;
  if (store === 'disk') {
    const disk = await RequestQueue.open({ dir: join(root, 'queue'), journalFile: join(root, 'jobs.jsonl'), maxBytes: 1 << 20, events });
    job = await disk.enqueue(join(root, 'dl', 'a.exe'), { source: 'cli' });
    q = disk;
  } else {
    const memory = new MemoryJobStore(events);
    job = {
      jobId: 'j1',
      state: 'queued',
      path: join(root, 'dl', 'a.exe'),
      sha256: 'a'.repeat(64),
      size: 2,
      provenance: { source: 'cli' },
      acceptedAt: new Date().toISOString(),
    };
    memory.add(job);
    q = memory;
  }
  const ctx: ActionContext = {
    home: root,
    events,
    log: silentLogger,
    clock: realClock,
    quarantineStore: QuarantineStore.open(root, { events }),
    quarantineObject,
  };
  return { q, job, ctx };
}

describe('response actions', () => {
  it('quarantine failing (the original changed) is a failed action with its code and a quarantine-failed event', async () => {
    const { q, job, ctx } = await setup(async () => {
      throw new SandgateError('ORIGINAL_CHANGED', 'the original changed');
    });
    const results = await runResponseActions(q, ctx, policy, { ...job, verdict: malicious });
    expect(results).toEqual([{ type: 'quarantine', status: 'failed', code: 'ORIGINAL_CHANGED', message: 'the original changed' }]);
    expect(events.read().events).toContainEqual(
      expect.objectContaining({ type: 'quarantine-failed', code: 'ORIGINAL_CHANGED', jobId: job.jobId }),
    );
  });

  it('does nothing for a verdict that is not malicious', async () => {
    let calls = 0;
    const { q, job, ctx } = await setup(async () => ({ id: String(++calls) }));
    for (const level of ['clean', 'suspicious', 'unknown'] as const) {
      expect(await runResponseActions(q, ctx, policy, { ...job, verdict: { level, server: 's' } })).toEqual([]);
    }
    expect(calls).toBe(0);
  });

  it('records results with the job, so running again after a crash does not repeat a finished action', async () => {
    let calls = 0;
    const { q, job, ctx } = await setup(async () => ({ id: `q${++calls}` }), 'disk');
    await runResponseActions(q, ctx, policy, { ...job, verdict: malicious });
    const q2 = await RequestQueue.open({ dir: join(root, 'queue'), journalFile: join(root, 'jobs.jsonl'), maxBytes: 1 << 20, events });
    const again = await runResponseActions(q2, ctx, policy, { ...q2.get(job.jobId)!, verdict: malicious });
    expect(calls).toBe(1);
    expect(again).toEqual([{ type: 'quarantine', status: 'done', id: 'q1' }]);
  });

  it('respects a policy that turns quarantine off', async () => {
    let calls = 0;
    const { q, job, ctx } = await setup(async () => ({ id: String(++calls) }));
    const off = policySchema.parse({ ...policy, response: { quarantine: false } });
    expect(await runResponseActions(q, ctx, off, { ...job, verdict: malicious })).toEqual([]);
    expect(calls).toBe(0);
  });
});
