import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskListOutputSchema, taskSchema, type Task } from '@sandgate/shared';
import { startStack, type Stack } from '#test-helpers/stack.ts';
import { EICAR, hashIoc, makeTree, sha256 } from './task-fixtures.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('sandgate ioc task … against the running agent service', () => {
  it('creates a manual task from an IOC file, runs it on request, shows its match, and refuses to pause it once finished', async () => {
    const share = join(stack.root, 'share');
    makeTree(share, 50);
    mkdirSync(join(share, 'drop'));
    const copy = join(share, 'drop', 'tool.exe');
    writeFileSync(copy, EICAR);
    const ioc = join(stack.root, 'eicar.ioc');
    writeFileSync(ioc, hashIoc(sha256(EICAR)));

    const created = await stack.sandgate(['ioc', 'task', 'create', ioc, '--scope', share, '--json']);
    expect(created.code, created.stderr + stack.agentLog()).toBe(0);
    const task = taskSchema.parse(JSON.parse(created.stdout));
    expect(task).toMatchObject({
      state: 'created',
      runMode: 'manual',
      createdBy: 'cli',
      scope: [share],
      iocFiles: [expect.objectContaining({ source: ioc })],
    });
    expect(task.unsupported).toEqual([expect.objectContaining({ term: 'FileItem/PEInfo/DigitalSignature/SignatureExists' })]);

    const listed = await stack.sandgate(['ioc', 'tasks', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(taskListOutputSchema.parse(JSON.parse(listed.stdout)).tasks).toEqual([
      expect.objectContaining({ id: task.id, state: 'created' }),
    ]);

    // Manual: nothing happens until `run`.
    const run = await stack.sandgate(['ioc', 'task', 'run', task.id]);
    expect(run.code, run.stderr).toBe(0);
    let shown: Task | undefined;
    for (;;) {
      const r = await stack.sandgate(['ioc', 'task', 'show', task.id, '--json']);
      shown = taskSchema.parse(JSON.parse(r.stdout));
      if (shown.state === 'completed') {
        // A task with matches exits 1, as a scan that found a threat does.
        expect(r.code).toBe(1);
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(shown.matches).toEqual([expect.objectContaining({ path: copy, sha256: sha256(EICAR), actions: [] })]);
    expect(shown.progress).toMatchObject({ filesDone: 51, total: 51 });

    const text = await stack.sandgate(['ioc', 'task', 'show', task.id]);
    expect(text.stdout).toContain(`MATCH  ${copy}`);
    expect(text.stdout).toContain('FileItem/PEInfo/DigitalSignature/SignatureExists');

    const pause = await stack.sandgate(['ioc', 'task', 'pause', task.id, '--json']);
    expect(pause.code).toBe(2);
    expect(pause.stderr).toContain('error[TASK_STATE_CONFLICT]');
    const missing = await stack.sandgate(['ioc', 'task', 'show', 'ffffffffffffffff']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error[TASK_NOT_FOUND]');

    // With the agent stopped the stored tasks can still be read.
    await stack.stopAgent();
    const offline = await stack.sandgate(['ioc', 'tasks']);
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stderr).toContain('not running');
    expect(offline.stdout).toMatch(new RegExp(`${task.id}\\s+ioc\\s+completed`));
  });
});
