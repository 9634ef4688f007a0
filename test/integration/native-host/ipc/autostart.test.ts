import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectAgent, type AgentClient } from '#native-host/ipc/client.ts';
import { FAKE_AGENT_COMMAND, fakeAgentStarts, killFakeAgents } from '#test-helpers/spawn-host.ts';

let home: string;
const clients: AgentClient[] = [];
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sandgate-autostart-'));
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  killFakeAgents(home);
  rmSync(home, { recursive: true, force: true });
});

const hello = { minV: 1, capabilities: [], client: 'test' };
const sessionOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]);

describe('autostart of the agent service', () => {
  it('starts the service when nobody listens, in its own session, with SANDGATE_HOME passed and output in logs/agent.log', async () => {
    const c = await connectAgent({ home, autostart: true, serveCommand: FAKE_AGENT_COMMAND });
    clients.push(c);
    expect(await c.request('hello', hello)).toMatchObject({ appVersion: 'fake-agent' });
    const starts = fakeAgentStarts(home);
    expect(starts).toHaveLength(1);
    const pid = Number(starts[0]!.split(' ')[1]);
    if (process.platform === 'linux') expect(sessionOf(pid)).toBe(pid); // setsid: a session leader, not in ours
    expect(readFileSync(join(home, 'logs', 'agent.log'), 'utf8')).toBe('');
  });

  it('does not start a second service when one is already listening', async () => {
    clients.push(await connectAgent({ home, autostart: true, serveCommand: FAKE_AGENT_COMMAND }));
    clients.push(await connectAgent({ home, autostart: true, serveCommand: FAKE_AGENT_COMMAND }));
    expect(fakeAgentStarts(home)).toHaveLength(1);
  });

  it('several clients autostarting at once end with one service', async () => {
    const cs = await Promise.all(
      Array.from({ length: 4 }, () => connectAgent({ home, autostart: true, serveCommand: FAKE_AGENT_COMMAND })),
    );
    clients.push(...cs);
    for (const c of cs) expect(await c.request('hello', hello)).toMatchObject({ appVersion: 'fake-agent' });
    expect(fakeAgentStarts(home).filter((l) => l.startsWith('listening'))).toHaveLength(1);
  });

  it('a service that exits without listening is AGENT_UNAVAILABLE, without waiting out the timeout', async () => {
    const started = Date.now();
    const err = await connectAgent({
      home,
      autostart: true,
      serveCommand: [process.execPath, '-e', 'console.error("no policy"); process.exit(2)'],
      timeoutMs: 60_000,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AGENT_UNAVAILABLE' });
    expect((err as Error).message).toContain('code 2');
    expect(Date.now() - started).toBeLessThan(50_000);
    expect(readFileSync(join(home, 'logs', 'agent.log'), 'utf8')).toContain('no policy');
  });

  it('a serve command that cannot be run is AGENT_UNAVAILABLE', async () => {
    await expect(connectAgent({ home, autostart: true, serveCommand: [join(home, 'no-such-binary')] })).rejects.toMatchObject({
      code: 'AGENT_UNAVAILABLE',
    });
  });
});
