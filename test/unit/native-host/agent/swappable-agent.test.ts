import { describe, expect, it } from 'vitest';
import { policySchema } from '@sandgate/shared';
import type { Agent } from '#native-host/agent/agent.ts';
import { swappableAgent } from '#native-host/agent/swappable-agent.ts';
import type { TaskService } from '#native-host/tasks/task-service.ts';

function agentNamed(name: string, relocated: string[]): Agent {
  return {
    submit: async () => ({ jobId: name, sha256: 'a'.repeat(64), size: 1, state: 'queued' }),
    status: () => ({
      appVersion: name,
      pid: 1,
      startedAt: 'now',
      home: '/h',
      servers: [],
      queue: { objects: 0, bytes: 0, limitBytes: 1 },
      recent: [],
    }),
    policy: () => policySchema.parse({ sandbox: { servers: [{ url: 'https://127.0.0.1:1' }], serverCertificate: '/nonexistent.pem' } }),
    listJobs: () => [],
    getJob: () => undefined,
    onJobUpdate: () => () => {},
    onAgentStatus: () => () => {},
    relocate: async (jobId, _from, to) => {
      relocated.push(`${name}:${jobId}->${to}`);
      return true;
    },
    tasks: { name } as unknown as TaskService,
    close: async () => {},
  };
}

describe('the agent a policy reload swaps underneath the IPC server', () => {
  it("sends a released download's new place, and task commands, to whichever agent is in force", async () => {
    const relocated: string[] = [];
    const swappable = swappableAgent(agentNamed('old', relocated));
    expect(await swappable.relocate?.('j1', '/d/a.exe.sandgate-hold', '/d/a.exe')).toBe(true);
    expect((swappable.tasks as unknown as { name: string }).name).toBe('old');
    await swappable.replace(
      async () => agentNamed('new', relocated),
      async () => agentNamed('fallback', relocated),
    );
    await swappable.relocate?.('j2', '/d/b.exe.sandgate-hold', '/d/b.exe');
    expect(relocated).toEqual(['old:j1->/d/a.exe', 'new:j2->/d/b.exe']);
    expect((swappable.tasks as unknown as { name: string }).name).toBe('new');
  });
});
