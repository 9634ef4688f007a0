import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { IocScanTask, Task, TaskProgress } from '@sandgate/shared';
import { GroupTaskAgent } from '#native-host/console/group-task-agent.ts';
import { silentLogger } from '#native-host/log.ts';
import type { TaskService } from '#native-host/tasks/task-service.ts';
import { aTask } from '../tasks/task-fixture.ts';

const OBJECT = 'a'.repeat(64);
const held = {
  path: '/home/u/x.exe',
  sha256: OBJECT,
  document: 'FileItem' as const,
  area: 'path',
  source: 'ioc' as const,
  iocId: 'i',
  file: 'f',
  terms: ['t'],
  foundAt: '2026-11-01T10:00:00.000Z',
};

/** A task service whose one task is whatever the scenario sets; witnessing it re-arms nothing until told. */
function fakeService(task: () => Task, onWitness: () => void): TaskService {
  const unused = () => {
    throw new Error('not used here');
  };
  return {
    list: () => [],
    get: () => task(),
    findByJob: () => undefined,
    create: unused,
    createFromFiles: unused,
    createFromConsole: async () => task(),
    witnessConsoleTask: async () => {
      onWitness();
      return task();
    },
    command: unused,
    reportIdle: () => {},
  };
}

describe("a workstation's reports on a group task that is witnessed", () => {
  let home: string;
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('does not call a share done while a match held for the witness is still to be acted on', async () => {
    home = mkdtempSync(join(tmpdir(), 'sandgate-witness-report-'));
    mkdirSync(join(home, 'console'), { mode: 0o700 });
    let task = aTask({
      state: 'completed',
      matches: [{ ...held, actions: [{ type: 'quarantine', status: 'skipped', code: 'GROUP_TASK_AWAITING_WITNESS' }] }],
    });
    const reports: TaskProgress[] = [];
    const agent = new GroupTaskAgent({
      home,
      agentId: 'a',
      log: silentLogger,
      report: async (p) => void reports.push(p),
      tasks: () =>
        fakeService(
          () => task,
          () => {},
        ),
    });
    const share: IocScanTask = {
      type: 'ioc-scan',
      id: randomUUID(),
      groupTaskId: randomUUID(),
      ioc: '<ioc/>',
      sha256: OBJECT,
      witnessed: false,
      scope: ['/home/u'],
      runMode: 'afterThreat',
      onMatch: { quarantine: true, criticalAreasScan: false },
      dryRun: false,
      neverQuarantine: { paths: [], sha256: [], publishers: [] },
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    await agent.handle([share]);
    expect(reports.at(-1)).toMatchObject({ state: 'done', matches: [{ action: 'awaiting-witness' }] });
    expect(reports.at(-1)!.witnessed).toBeUndefined();

    // Witnessed; the running task has not re-armed the held quarantine yet: still running, and it says it knows.
    await agent.handle([
      {
        type: 'witnessed',
        id: randomUUID(),
        taskId: share.id,
        witness: { kind: 'operator', by: 'user:ada', at: new Date().toISOString() },
      },
    ]);
    expect(reports.at(-1)).toMatchObject({ state: 'running', witnessed: true, matches: [{ action: 'awaiting-witness' }] });

    task = { ...task, matches: [{ ...held, actions: [{ type: 'quarantine', status: 'done', id: 'q1' }] }] };
    await agent.reportChanges();
    expect(reports.at(-1)).toMatchObject({ state: 'done', witnessed: true, matches: [{ action: 'quarantined', quarantineId: 'q1' }] });
  });
});
