import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policySchema, type Task, type Verdict } from '@sandgate/shared';
import { EventLog } from '#native-host/events/event-log.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';
import { runResponseActions } from '#native-host/actions/run-actions.ts';
import type { ActionContext } from '#native-host/actions/response-action.ts';
import type { CreateTaskInput, TaskService } from '#native-host/tasks/task-service.ts';
import { realClock } from '#native-host/clock.ts';
import { silentLogger } from '#native-host/log.ts';
import { parseOpenIoc } from '@sandgate/shared/openioc-parse';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

let root: string;
let events: EventLog;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-scan-actions-')));
  mkdirSync(join(root, 'dl'));
  events = new EventLog(join(root, 'events'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const policy = policySchema.parse({
  sandbox: { servers: [{ url: 'https://127.0.0.1:1' }], serverCertificate: 'x' },
  response: { quarantine: false, criticalAreasScan: true, iocScan: { create: true, runMode: 'idle', paths: ['/srv/share'] } },
});
const malicious: Verdict = {
  level: 'malicious',
  threat: 'EICAR-Test-File',
  server: 'https://127.0.0.1:1',
  indicators: [{ type: 'domain', value: 'evil.example.net' }],
};

/** Records what the actions ask of the tasks; tasks are found again by job id as the real store does. */
function fakeTasks() {
  const created: Array<CreateTaskInput & { id: string }> = [];
  const service: TaskService = {
    list: () => [],
    get: () => {
      throw new Error('not used');
    },
    findByJob: (jobId, kind) => {
      const c = created.find((t) => t.jobId === jobId && t.kind === kind);
      return c ? ({ id: c.id } as Task) : undefined;
    },
    create: async (input) => {
      const id = String(created.length + 1).padStart(16, '0');
      created.push({ ...input, id });
      return { id } as Task;
    },
    createFromFiles: async () => {
      throw new Error('not used');
    },
    command: async () => {
      throw new Error('not used');
    },
    reportIdle: () => {},
  };
  return { created, service };
}

async function setup(tasks?: TaskService) {
  const q = await RequestQueue.open({ dir: join(root, 'queue'), journalFile: join(root, 'jobs.jsonl'), maxBytes: 1 << 20, events });
  writeFileSync(join(root, 'dl', 'a.exe'), 'MZ payload');
  const job = await q.enqueue(join(root, 'dl', 'a.exe'), { source: 'browser', url: 'https://dl.example.org/a.exe' });
  const ctx: ActionContext = {
    home: root,
    events,
    log: silentLogger,
    clock: realClock,
    quarantineStore: QuarantineStore.open(root, { events }),
    quarantineObject: async () => ({ id: 'q' }),
    policy,
    ...(tasks ? { tasks } : {}),
  };
  return { q, job, ctx };
}

describe('scan response actions', () => {
  it('schedule a Critical Areas Scan and an IOC scan task built from the verdict, with the policy scope and run mode', async () => {
    const fake = fakeTasks();
    const { q, job, ctx } = await setup(fake.service);
    const results = await runResponseActions(q, ctx, policy, { ...job, verdict: malicious });
    expect(results).toEqual([
      { type: 'critical-areas-scan', status: 'scheduled', id: fake.created[0]!.id },
      { type: 'ioc-scan', status: 'scheduled', id: fake.created[1]!.id },
    ]);
    expect(fake.created[0]).toMatchObject({
      kind: 'critical-areas',
      jobId: job.jobId,
      scope: 'critical',
      runMode: 'afterThreat',
      sha256: [job.sha256],
    });
    expect(fake.created[1]).toMatchObject({
      kind: 'ioc',
      createdBy: 'policy',
      jobId: job.jobId,
      scope: ['/srv/share'],
      runMode: 'idle',
      onMatch: { quarantine: true },
    });
    // The IOC: OpenIOC 1.1 with the object's three hashes (the original is still there to read SHA-1 and MD5 from).
    const ioc = parseOpenIoc(fake.created[1]!.iocs[0]!.bytes, 'generated.ioc');
    expect(ioc.version).toBe('1.1');
    const text = new TextDecoder().decode(fake.created[1]!.iocs[0]!.bytes);
    for (const term of [
      'FileItem/Sha256sum',
      'FileItem/Sha1sum',
      'FileItem/Md5sum',
      'FileItem/SizeInBytes',
      'FileItem/FileName',
      'DnsEntryItem/Host',
    ])
      expect(text).toContain(term);
  });

  it('after a crash while an action ran, the task it had created is found by job id and not created twice', async () => {
    const fake = fakeTasks();
    const { q, job, ctx } = await setup(fake.service);
    // The crash: both actions marked begun; the IOC task was created, the Critical Areas Scan was not.
    await q.update(job.jobId, { actionStarted: 'critical-areas-scan' });
    await q.update(job.jobId, { actionStarted: 'ioc-scan' });
    await fake.service.create({
      kind: 'ioc',
      createdBy: 'policy',
      jobId: job.jobId,
      scope: 'critical',
      runMode: 'idle',
      onMatch: { quarantine: true, criticalAreasScan: false },
      iocs: [],
    });

    const results = await runResponseActions(q, ctx, policy, { ...job, verdict: malicious });
    expect(fake.created.map((c) => c.kind)).toEqual(['ioc', 'critical-areas']);
    expect(results).toEqual([
      { type: 'critical-areas-scan', status: 'scheduled', id: fake.created[1]!.id },
      { type: 'ioc-scan', status: 'scheduled', id: fake.created[0]!.id },
    ]);
  });

  it('are reported skipped, not silently dropped, where no task runner exists', async () => {
    const { q, job, ctx } = await setup();
    const results = await runResponseActions(q, ctx, policy, { ...job, verdict: malicious });
    expect(results.map((r) => [r.type, r.status])).toEqual([
      ['critical-areas-scan', 'skipped'],
      ['ioc-scan', 'skipped'],
    ]);
  });
});
