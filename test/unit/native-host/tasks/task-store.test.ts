import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '#native-host/events/event-log.ts';
import { TaskStore, readStoredTasks, tasksDir } from '#native-host/tasks/task-store.ts';
import { aTask } from './task-fixture.ts';

let home: string;
let events: EventLog;
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'sg-taskstore-')));
  events = new EventLog(join(home, 'events'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));
const now = new Date('2026-11-02T08:00:00Z');

describe('task store', () => {
  it('keeps a task, its IOC files and its position across a restart', async () => {
    const store = new TaskStore(home, events);
    await store.create(aTask(), [{ name: '1-x.ioc', bytes: new TextEncoder().encode('<ioc/>') }]);
    await store.save({
      ...aTask(),
      state: 'paused',
      pauseReason: 'idle-ended',
      progress: { rootIndex: 1, lastPath: '/srv/b/f', filesDone: 1234, runs: 2 },
    });

    const again = new TaskStore(home, events).load(now);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({
      state: 'paused',
      pauseReason: 'idle-ended',
      progress: { rootIndex: 1, lastPath: '/srv/b/f', filesDone: 1234 },
    });
    expect(readFileSync(join(tasksDir(home), aTask().id, 'iocs', '1-x.ioc'), 'utf8')).toBe('<ioc/>');
    // Records are replaced whole: no temp file is left beside them.
    expect(readdirSync(join(tasksDir(home), aTask().id)).sort()).toEqual(['iocs', 'task.json']);
  });

  it('sets an unreadable record aside with an event, and removes the debris of a creation cut short', async () => {
    const store = new TaskStore(home, events);
    await store.create(aTask(), []);
    const bad = join(tasksDir(home), 'fedcba9876543210');
    mkdirSync(bad);
    writeFileSync(join(bad, 'task.json'), '{"format":1,"id":"fedcba9876543210","state":"exploded"}');
    mkdirSync(join(tasksDir(home), '.tmp-0011223344556677'));

    const loaded = new TaskStore(home, events).load(now);
    expect(loaded.map((t) => t.id)).toEqual([aTask().id]);
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(join(tasksDir(home), 'corrupt'))).toEqual([expect.stringMatching(/^fedcba9876543210-/)]);
    expect(existsSync(join(tasksDir(home), '.tmp-0011223344556677'))).toBe(false);
    expect(events.read().events).toContainEqual(expect.objectContaining({ type: 'scan-task-corrupt', taskId: 'fedcba9876543210' }));
  });

  it('the CLI reads tasks without an agent and without touching anything', async () => {
    await new TaskStore(home, events).create(aTask(), []);
    mkdirSync(join(tasksDir(home), '.tmp-0011223344556677'));
    expect(readStoredTasks(home).map((t) => t.id)).toEqual([aTask().id]);
    expect(existsSync(join(tasksDir(home), '.tmp-0011223344556677'))).toBe(true);
  });

  it('finds the task a response action created for a job', async () => {
    const store = new TaskStore(home, events);
    await store.create(aTask({ createdBy: 'policy', jobId: 'job-1', kind: 'critical-areas' }), []);
    expect(store.findByJob('job-1', 'critical-areas')?.id).toBe(aTask().id);
    expect(store.findByJob('job-1', 'ioc')).toBeUndefined();
  });
});
