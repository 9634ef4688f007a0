import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestSchema, type Task } from '@sandgate/shared';
import { createAgent, type Agent } from '#native-host/agent/agent.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { ReportedIdleSource } from '#native-host/tasks/idle-source.ts';
import { createRouter } from '#native-host/router.ts';
import { EICAR, hashIoc, makeTree, policyFor, sha256, until, useTaskWorkspace } from './task-fixtures.ts';

const ws = useTaskWorkspace('sg-idle-task-');

const FILES = 3000;

describe('an IOC scan task in idle mode', () => {
  it('runs only while the screen is locked, pauses when the person comes back, and after an agent restart continues where it stopped', async () => {
    const scope = join(ws.root, 'shared-drive');
    makeTree(scope, FILES);
    // The walk visits d0 … d6, so the copy in zz/ is among the last files: found only by the second run.
    mkdirSync(join(scope, 'zz'));
    const copy = join(scope, 'zz', 'invoice.pdf.exe');
    writeFileSync(copy, EICAR);
    const iocFile = join(ws.root, 'eicar.ioc');
    writeFileSync(iocFile, hashIoc(sha256(EICAR)));
    const loaded = await policyFor(ws.root, ws.server);

    // First agent: the screen is in use.
    const screen = new ReportedIdleSource({ name: 'script' });
    screen.set('active');
    let comeBackAt = 0;
    const first: Agent = await createAgent({
      home: ws.home,
      loaded,
      appVersion: 'test',
      tasks: {
        idleSources: [screen],
        checkpointEvery: 100,
        // The person comes back once a third of the tree is done.
        onCheckpoint: (t) => {
          if (!comeBackAt && t.progress.filesDone >= 1000) {
            comeBackAt = t.progress.filesDone;
            screen.set('active');
          }
        },
      },
    });
    ws.cleanups.push(() => first.close());
    const created = await first.tasks!.createFromFiles([iocFile], {
      scope: [scope],
      runMode: 'idle',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });
    expect(created.state).toBe('created');
    // Terms we cannot evaluate are said at creation, per file and term.
    expect(created.unsupported).toEqual([expect.objectContaining({ term: 'FileItem/PEInfo/DigitalSignature/SignatureExists' })]);

    screen.set('locked');
    const paused = await until(() => {
      const t = first.tasks!.get(created.id);
      return t.state === 'paused' ? t : undefined;
    });
    expect(paused).toMatchObject({
      pauseReason: 'idle-ended',
      matches: [],
      progress: { filesDone: comeBackAt, total: FILES + 1, runs: 1 },
    });
    expect(paused.progress.lastPath).toBeDefined();
    await first.close();

    // Days later, a new agent process: the task waits for the next lock, then continues from its checkpoint.
    const screen2 = new ReportedIdleSource({ name: 'script' });
    screen2.set('active');
    const second = await createAgent({
      home: ws.home,
      loaded,
      appVersion: 'test',
      tasks: { idleSources: [screen2], checkpointEvery: 100 },
    });
    ws.cleanups.push(() => second.close());
    expect(second.tasks!.get(created.id)).toMatchObject({ state: 'paused', pauseReason: 'idle-ended' });
    screen2.set('locked');
    const done: Task = await until(() => {
      const t = second.tasks!.get(created.id);
      return t.state === 'completed' ? t : undefined;
    });

    // Every file was read exactly once over the two runs: nothing done before the pause was read again.
    expect(done.stats.filesSeen).toBe(FILES + 1);
    expect(done.stats.hashed).toBe(FILES + 1);
    expect(done.progress).toMatchObject({ filesDone: FILES + 1, runs: 2 });
    expect(done.resumedAt).toHaveLength(1);
    expect(done.matches).toEqual([expect.objectContaining({ path: copy, iocId: 'hash-hunt', sha256: sha256(EICAR), actions: [] })]);

    const types = new EventLog(sandgatePaths(ws.home).events)
      .read()
      .events.filter((e) => e.taskId === created.id)
      .map((e) => e.type);
    expect(types).toEqual([
      'scan-task-created',
      'scan-task-started',
      'scan-task-paused',
      'scan-task-resumed',
      'scan-task-match',
      'scan-task-completed',
    ]);
  });

  it('takes the screen lock from the browser extension (report-idle), with no OS source at all', async () => {
    const scope = join(ws.root, 'docs');
    makeTree(scope, 20);
    const iocFile = join(ws.root, 'eicar.ioc');
    writeFileSync(iocFile, hashIoc(sha256(EICAR)));
    const agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: { idleSources: [] },
    });
    ws.cleanups.push(() => agent.close());
    const router = createRouter(agent, { appVersion: 'test', home: ws.home });
    const report = (state: string) =>
      router.handle(requestSchema.parse({ v: 1, kind: 'request', id: '1', type: 'report-idle', payload: { state } }));
    const task = await agent.tasks!.createFromFiles([iocFile], {
      scope: [scope],
      runMode: 'idle',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });

    await report('idle');
    expect(agent.tasks!.get(task.id).state).toBe('created');
    await report('locked');
    await until(() => agent.tasks!.get(task.id).state === 'completed');
    expect(agent.tasks!.get(task.id).stats.filesSeen).toBe(20);
  });
});
