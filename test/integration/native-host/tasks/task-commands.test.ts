import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Task } from '@sandgate/shared';
import { createAgent, type Agent } from '#native-host/agent/agent.ts';
import { realClock, type Clock } from '#native-host/clock.ts';
import { EICAR, hashIoc, makeTree, policyFor, sha256, until, useTaskWorkspace } from './task-fixtures.ts';

const ws = useTaskWorkspace('sg-task-cmd-');

describe('steering a running task', () => {
  it('pause stops it after the file at hand and keeps its position; resume continues; cancel of a finished task is refused', async () => {
    const scope = join(ws.root, 'data');
    makeTree(scope, 1500);
    const ioc = join(ws.root, 'x.ioc');
    writeFileSync(ioc, hashIoc(sha256(EICAR)));
    let agent: Agent | undefined;
    let paused: Promise<Task> | undefined;
    agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: {
        idleSources: [],
        checkpointEvery: 100,
        // The person pauses it once 500 files are done (the command stops the run before the next file).
        onCheckpoint: (t) => {
          if (!paused && t.progress.filesDone >= 500) paused = agent!.tasks!.command(t.id, 'pause');
        },
      },
    });
    ws.cleanups.push(() => agent!.close());
    const task = await agent.tasks!.createFromFiles([ioc], {
      scope: [scope],
      runMode: 'afterThreat',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });
    await until(() => paused);
    const stopped = await paused!;
    expect(stopped).toMatchObject({ state: 'paused', pauseReason: 'user', progress: { filesDone: 500 } });

    await agent.tasks!.command(task.id, 'resume');
    const done = await until(() => {
      const t = agent!.tasks!.get(task.id);
      return t.state === 'completed' ? t : undefined;
    });
    expect(done.stats).toMatchObject({ filesSeen: 1500, hashed: 1500 });
    expect(done.resumedAt).toHaveLength(1);
    await expect(agent.tasks!.command(task.id, 'cancel')).rejects.toMatchObject({ code: 'TASK_STATE_CONFLICT' });
  });

  it('cancel of a task that waits keeps it and its results, and it never runs', async () => {
    const ioc = join(ws.root, 'x.ioc');
    writeFileSync(ioc, hashIoc(sha256(EICAR)));
    const agent = await createAgent({
      home: ws.home,
      loaded: await policyFor(ws.root, ws.server),
      appVersion: 'test',
      tasks: { idleSources: [] },
    });
    ws.cleanups.push(() => agent.close());
    const task = await agent.tasks!.createFromFiles([ioc], {
      scope: [ws.root],
      runMode: 'manual',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });
    expect(await agent.tasks!.command(task.id, 'cancel')).toMatchObject({ state: 'cancelled', progress: { runs: 0 } });
    await expect(agent.tasks!.command(task.id, 'run')).rejects.toMatchObject({ code: 'TASK_STATE_CONFLICT' });
    await expect(agent.tasks!.command('0000000000000000', 'show')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });

  it('a finished task is kept response.iocScan.keepResultsDays days, then removed with its results', async () => {
    const ioc = join(ws.root, 'x.ioc');
    writeFileSync(ioc, hashIoc(sha256(EICAR)));
    const loaded = await policyFor(ws.root, ws.server, { response: { iocScan: { keepResultsDays: 30 } } });
    const at = (days: number): Clock => ({ ...realClock, now: () => new Date(Date.now() + days * 24 * 3600_000) });
    const first = await createAgent({ home: ws.home, loaded, appVersion: 'test', tasks: { idleSources: [] } });
    const task = await first.tasks!.createFromFiles([ioc], {
      scope: [ws.root],
      runMode: 'manual',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });
    await first.tasks!.command(task.id, 'cancel');
    await first.close();

    const in29Days = await createAgent({ home: ws.home, loaded, appVersion: 'test', clock: at(29), tasks: { idleSources: [] } });
    expect(in29Days.tasks!.list().map((t) => t.id)).toEqual([task.id]);
    await in29Days.close();
    const in31Days = await createAgent({ home: ws.home, loaded, appVersion: 'test', clock: at(31), tasks: { idleSources: [] } });
    ws.cleanups.push(() => in31Days.close());
    expect(in31Days.tasks!.list()).toEqual([]);
  });
});
