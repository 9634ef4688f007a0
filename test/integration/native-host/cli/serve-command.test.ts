import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { startStack, sandgateCliPath, type Stack } from '../../../helpers/stack.ts';
import { EventLog } from '../../../../native-host/src/events/event-log.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startAgent: false });
});
afterAll(async () => {
  await stack?.close();
});

describe('sandgate serve', () => {
  it('answers on its socket and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [sandgateCliPath(), 'serve'], { env: stack.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    // Waits for the service by asking it (the CLI connects without starting one), not by sleeping a fixed time.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', () => {
        if (stderr.includes('agent service listening')) resolve();
      });
      child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    const status = await stack.sandgate(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).pid).toBe(child.pid);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(child.stdout.read()).toBeNull();
    const types = new EventLog(stack.paths.events).read().events.map((e) => e.type);
    expect(types).toContain('service-started');
  });

  it('without a policy refuses to start with error[POLICY_NOT_FOUND]', async () => {
    const r = await stack.sandgate(['serve', '--policy', `${stack.root}/nope.json`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error\[POLICY_NOT_FOUND\]/);
  });

  it('status without a running service says so with error[AGENT_UNAVAILABLE]', async () => {
    const r = await stack.sandgate(['status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[AGENT_UNAVAILABLE\]/);
  });
});
