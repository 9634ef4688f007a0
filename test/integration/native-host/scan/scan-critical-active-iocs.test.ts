import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scanOutputSchema } from '@sandgate/shared';
import { createAgent } from '#native-host/agent/agent.ts';
import type { RunningLab } from '#lab/lab-server.ts';
import { runSandgate } from '../cli/run-sandgate.ts';
import { hashIoc, lab, policyFor, sha256 } from '../tasks/task-fixtures.ts';

let root: string;
let home: string;
let server: RunningLab;
beforeEach(async () => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-scan-active-')));
  home = join(root, 'home');
  mkdirSync(home, { mode: 0o700 });
  server = await lab(root);
});
afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')('sandgate scan critical and the IOC scan tasks still open', () => {
  it('checks running programs against the IOCs of a task that has not run yet, not only against judged hashes', async () => {
    // An administrator created a manual IOC scan task hunting a program by hash; nobody has run it yet.
    const ioc = join(root, 'hunt.ioc');
    writeFileSync(ioc, hashIoc(sha256(readFileSync('/bin/sleep')), 'hunt-sleeper'));
    const agent = await createAgent({ home, loaded: await policyFor(root, server), appVersion: 'test', tasks: { idleSources: [] } });
    const task = await agent.tasks!.createFromFiles([ioc], {
      scope: 'critical',
      runMode: 'manual',
      onMatch: { quarantine: false, criticalAreasScan: false },
    });
    expect(task.state).toBe('created');
    await agent.close();

    const exe = join(root, 'sleeper');
    copyFileSync('/bin/sleep', exe);
    const child = spawn(exe, ['60'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    try {
      const r = await runSandgate(['scan', 'critical', '--json'], { home });
      expect(r.code, r.stderr).toBe(1);
      const out = scanOutputSchema.parse(JSON.parse(r.stdout));
      expect(out.knownMaliciousHashes).toBe(0);
      expect(out.matches).toEqual(
        expect.arrayContaining([expect.objectContaining({ source: 'ioc', area: 'process', pid: child.pid, path: exe })]),
      );
    } finally {
      child.kill();
    }
  });
});
