import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statusResultSchema, type AgentEvent } from '@sandgate/shared';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const policy = () => JSON.parse(readFileSync(stack.policyPath, 'utf8')) as { sandbox: Record<string, unknown> };

/** Writes the way editors and configuration tools do: a new file renamed over the old one. */
function replacePolicy(body: unknown): void {
  const tmp = join(stack.home, '.policy.json.swp');
  writeFileSync(tmp, JSON.stringify(body, null, 2));
  renameSync(tmp, stack.policyPath);
}

const status = async () => {
  const r = await stack.sandgate(['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return statusResultSchema.parse(JSON.parse(r.stdout));
};

const nextEvent = (type: AgentEvent['type'], after: number) =>
  pollFor(`a ${type} event`, () =>
    stack
      .events()
      .slice(after)
      .find((e) => e.type === type),
  );

describe('sandgate serve reloads its policy file without a restart', () => {
  it('a valid change (a second server, a longer connect timeout) is applied, recorded and visible in status', async () => {
    const before = await status();
    expect(before.servers.map((s) => s.url)).toEqual([stack.lab.url]);
    const seen = stack.events().length;
    const p = policy();
    p.sandbox.servers = [{ url: stack.lab.url, token: stack.lab.token }, { url: 'https://127.0.0.1:9' }];
    p.sandbox.connectTimeoutMs = 5000;
    replacePolicy(p);

    const e = await nextEvent('policy-reloaded', seen);
    expect(e.path).toBe(stack.policyPath);
    expect(e.message).toContain('sandbox.connectTimeoutMs');
    expect(e.message).toContain('sandbox.servers');
    const after = await status();
    expect(after.servers.map((s) => s.url)).toEqual([stack.lab.url, 'https://127.0.0.1:9']);
    expect(after.pid).toBe(before.pid);

    // The rebuilt agent works: a file submitted now gets its verdict from the lab.
    const file = join(stack.root, 'after-reload.txt');
    writeFileSync(file, 'harmless text written after a policy reload\n');
    const r = await stack.sandgate(['submit', file, '--wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verdict.level).toBe('clean');
  });

  it('an invalid change (a misspelt key) is refused with an event naming the key; the last good policy stays', async () => {
    const seen = stack.events().length;
    const p = policy();
    delete p.sandbox.connectTimeoutMs;
    p.sandbox.conectTimeoutMs = 100;
    replacePolicy(p);

    const e = await nextEvent('policy-invalid', seen);
    expect(e.code).toBe('POLICY_INVALID');
    expect(e.message).toContain('conectTimeoutMs');
    expect(e.message).toContain('keeping the last good policy');
    expect((await status()).servers.map((s) => s.url)).toEqual([stack.lab.url, 'https://127.0.0.1:9']);
    expect(
      stack
        .events()
        .slice(seen)
        .some((x) => x.type === 'policy-reloaded'),
    ).toBe(false);
  });

  it('fixing the file again is applied: back to one server', async () => {
    const seen = stack.events().length;
    const p = policy();
    delete p.sandbox.conectTimeoutMs;
    p.sandbox.servers = [{ url: stack.lab.url, token: stack.lab.token }];
    writeFileSync(stack.policyPath, JSON.stringify(p));
    await nextEvent('policy-reloaded', seen);
    expect((await status()).servers.map((s) => s.url)).toEqual([stack.lab.url]);
  });
});
