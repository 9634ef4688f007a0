import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, sandgateCliPath, type Stack } from '#test-helpers/stack.ts';
import { EventLog } from '#native-host/events/event-log.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ startAgent: false });
});
afterAll(async () => {
  await stack?.close();
});

/** Starts `sandgate serve` and resolves once it says it listens. */
async function startServe(): Promise<{ child: ChildProcess; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [sandgateCliPath(), 'serve'], { env: stack.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  // Waits for the service by what it says, not by sleeping a fixed time.
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', () => {
      if (stderr.includes('agent service listening')) resolve();
    });
    child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  return { child, exited, stderr: () => stderr };
}

describe('sandgate serve', () => {
  it('answers on its socket and stops cleanly on SIGTERM', async () => {
    const { child, exited } = await startServe();
    const status = await stack.sandgate(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).pid).toBe(child.pid);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(child.stdout!.read()).toBeNull();
    const types = new EventLog(stack.paths.events).read().events.map((e) => e.type);
    expect(types).toContain('service-started');
  });

  it('a second agent on the same home stops with AGENT_ALREADY_RUNNING before it touches the queue', async () => {
    const first = await startServe();
    try {
      // What the running agent has in flight: a copy into the queue not renamed yet, and a job record. A second agent
      // that opened the queue would take the copy for crash debris and delete it.
      const inFlight = join(stack.paths.queue, '.tmp-copy-in-progress');
      writeFileSync(inFlight, 'half of a download being copied');
      const before = readdirSync(stack.paths.queue).sort();
      const second = await stack.sandgate(['serve']);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/error\[AGENT_ALREADY_RUNNING\]/);
      expect(existsSync(inFlight)).toBe(true);
      expect(readdirSync(stack.paths.queue).sort()).toEqual(before);
      // and the first one still serves
      const status = await stack.sandgate(['status', '--json']);
      expect(JSON.parse(status.stdout).pid).toBe(first.child.pid);
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }
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
