import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, Task } from '@sandgate/shared';
import { createAgent, type Agent } from '#native-host/agent/agent.ts';
import type { LoadedPolicy } from '#native-host/config/load-policy.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import type { CriticalAreaCollector, Finding } from '#native-host/scan/critical-areas/collector.ts';
import type { RunningLab } from '#lab/lab-server.ts';
import { TaskStore } from '#native-host/tasks/task-store.ts';
import { EICAR, hashIoc, lab, makeTree, policyFor, sha256, until } from './task-fixtures.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

let root: string;
let home: string;
let downloads: string;
let server: RunningLab;
const cleanups: Array<() => Promise<void> | void> = [];
beforeEach(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-threat-tasks-')));
  home = join(root, 'home');
  downloads = join(root, 'Downloads');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(downloads);
  server = await lab(root);
  cleanups.push(() => server.close());
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

/** Critical areas standing in for this machine's: one autostart folder of the fixture tree. */
function fixtureAreas(folder: string): CriticalAreaCollector {
  return {
    name: 'fixture',
    runnableHere: true,
    async *collect(): AsyncIterable<Finding> {
      yield { kind: 'folder', area: 'user-startup', path: folder, origin: 'fixture autostart folder' };
    },
  };
}

async function agentWith(loaded: LoadedPolicy, autostart: string): Promise<Agent> {
  const a = await createAgent({ home, loaded, appVersion: 'test', tasks: { collectors: [fixtureAreas(autostart)], idleSources: [] } });
  cleanups.push(() => a.close());
  return a;
}

const taskDone = (agent: Agent, id: string) =>
  until(() => {
    const t = agent.tasks!.get(id);
    return t.state === 'completed' || t.state === 'failed' ? t : undefined;
  });

describe('scan tasks after a malicious verdict', () => {
  it('hunts the object in the policy paths, quarantines a second copy found there, and runs a Critical Areas Scan', async () => {
    const shared = join(root, 'shared');
    makeTree(shared, 200);
    mkdirSync(join(shared, 'team', 'tools'), { recursive: true });
    const copy = join(shared, 'team', 'tools', 'setup-helper.exe');
    writeFileSync(copy, EICAR);
    const autostart = join(root, 'autostart');
    mkdirSync(autostart);
    const planted = join(autostart, 'updater');
    writeFileSync(planted, EICAR);

    const loaded = await policyFor(root, server, {
      response: {
        quarantine: true,
        criticalAreasScan: true,
        iocScan: { create: true, runMode: 'afterThreat', paths: [shared], onMatch: { quarantine: true, criticalAreasScan: false } },
      },
    });
    const agent = await agentWith(loaded, autostart);
    const download = join(downloads, 'eicar.com');
    writeFileSync(download, EICAR);
    const { jobId } = await agent.submit(download, { source: 'browser', browser: 'chromium', url: 'https://files.example.org/eicar.com' });
    const job: Job = await until(() => {
      const j = agent.getJob(jobId);
      return j?.state === 'done' ? j : undefined;
    });

    // The job is committed at once; the scans are scheduled, each with its task id.
    expect(job.verdict).toMatchObject({ level: 'malicious' });
    expect(job.actions).toEqual([
      { type: 'quarantine', status: 'done', id: expect.any(String) },
      { type: 'critical-areas-scan', status: 'scheduled', id: expect.stringMatching(/^[0-9a-f]{16}$/) },
      { type: 'ioc-scan', status: 'scheduled', id: expect.stringMatching(/^[0-9a-f]{16}$/) },
    ]);
    const iocTask: Task = await taskDone(agent, job.actions![2]!.id!);
    const cas: Task = await taskDone(agent, job.actions![1]!.id!);

    // The IOC task: generated from the verdict, the copy under another name found and quarantined by its hash.
    expect(iocTask).toMatchObject({ state: 'completed', kind: 'ioc', createdBy: 'policy', jobId, scope: [shared], runMode: 'afterThreat' });
    expect(iocTask.unsupported).toContainEqual(expect.objectContaining({ term: 'UrlHistoryItem/HostName' }));
    expect(iocTask.matches).toEqual([
      expect.objectContaining({
        path: copy,
        sha256: sha256(EICAR),
        actions: [{ type: 'quarantine', status: 'done', id: expect.any(String) }],
      }),
    ]);
    // Decided from size alone for every other file: nothing but the copy was read.
    expect(iocTask.stats).toMatchObject({ filesSeen: 201, hashed: 1 });
    expect(existsSync(copy)).toBe(false);
    expect(existsSync(download)).toBe(false);
    const items = QuarantineStore.open(home).list();
    expect(items.map((i) => i.originalPath).sort()).toEqual([copy, download].sort());
    expect(items.find((i) => i.originalPath === copy)).toMatchObject({ sha256: sha256(EICAR), id: iocTask.matches[0]!.actions[0]!.id });

    // The Critical Areas Scan: the object planted in an autostart folder, judged by the verdict's hash, reported (not acted on).
    expect(cas).toMatchObject({ state: 'completed', kind: 'critical-areas', jobId, sha256: [sha256(EICAR)] });
    expect(cas.matches).toContainEqual(expect.objectContaining({ path: planted, area: 'user-startup', source: 'verdict', actions: [] }));
    expect(statSync(planted).size).toBe(EICAR.length);

    const events = new EventLog(sandgatePaths(home).events).read().events;
    expect(events).toContainEqual(expect.objectContaining({ type: 'scan-task-match', taskId: iocTask.id, path: copy }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'quarantined', taskId: iocTask.id, path: copy }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'scan-task-completed', taskId: cas.id }));
  });

  it('a manual task the policy created waits across an agent restart and runs on `ioc task run`', async () => {
    const loaded = await policyFor(root, server, {
      response: { quarantine: false, iocScan: { create: true, runMode: 'manual', paths: [downloads] } },
    });
    const first = await agentWith(loaded, join(root, 'nothing'));
    const download = join(downloads, 'eicar.com');
    writeFileSync(download, EICAR);
    const { jobId } = await first.submit(download, { source: 'cli' });
    const job = await until(() => {
      const j = first.getJob(jobId);
      return j?.state === 'done' ? j : undefined;
    });
    await first.close();
    const second = await agentWith(loaded, join(root, 'nothing'));
    expect(second.tasks!.list()).toEqual([expect.objectContaining({ id: job.actions![0]!.id, state: 'created', runMode: 'manual' })]);
    // A manual task waits for `ioc task run`; then it finds the download the policy left in place.
    await second.tasks!.command(job.actions![0]!.id!, 'run');
    const done = await taskDone(second, job.actions![0]!.id!);
    expect(done.matches).toEqual([expect.objectContaining({ path: download })]);
  });

  it('a match recorded just before a crash is quarantined at the next start, and only once', async () => {
    const loaded = await policyFor(root, server);
    const found = join(root, 'found', 'copy.exe');
    mkdirSync(join(root, 'found'));
    writeFileSync(found, EICAR);
    const ioc = join(root, 'x.ioc');
    writeFileSync(ioc, hashIoc(sha256(EICAR)));
    const first = await agentWith(loaded, join(root, 'nothing'));
    const task = await first.tasks!.createFromFiles([ioc], {
      scope: [join(root, 'found')],
      runMode: 'manual',
      onMatch: { quarantine: true, criticalAreasScan: false },
    });
    await first.close();
    // What the disk holds when the agent died between writing the match and quarantining the file.
    const store = new TaskStore(home, new EventLog(sandgatePaths(home).events));
    const [stored] = store.load(new Date());
    const match = {
      document: 'FileItem',
      path: found,
      area: 'path',
      source: 'ioc' as const,
      iocId: 'hash-hunt',
      file: '1-x.ioc',
      terms: [],
      sha256: sha256(EICAR),
      foundAt: new Date().toISOString(),
    };
    await store.save({
      ...stored!,
      state: 'running',
      runRequested: true,
      matches: [{ ...match, actions: [{ type: 'quarantine', status: 'pending' }] }],
    });

    const second = await agentWith(loaded, join(root, 'nothing'));
    const acted = second.tasks!.get(task.id);
    expect(acted.matches[0]!.actions).toEqual([{ type: 'quarantine', status: 'done', id: expect.any(String) }]);
    expect(existsSync(found)).toBe(false);
    await second.close();
    const third = await agentWith(loaded, join(root, 'nothing'));
    expect(third.tasks!.get(task.id).matches).toHaveLength(1);
    expect(
      QuarantineStore.open(home)
        .list()
        .filter((i) => i.originalPath === found),
    ).toHaveLength(1);
  });
});
