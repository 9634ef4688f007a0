import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { policySchema, type AgentEvent, type Job, type PolicyInput } from '@sandgate/shared';
import { createAgent, type Agent } from '#native-host/agent/agent.ts';
import { realClock, type Clock } from '#native-host/clock.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { makeCa, makeLeaf, type Pem } from './pki.ts';

/** Real time, with every pause (CAPE's and Cuckoo's multi-second polling, failover rounds) cut to 20 ms at most. */
export const quickClock: Clock = { ...realClock, sleep: (ms, signal) => realClock.sleep(Math.min(ms, 20), signal) };

/**
 * One real agent per test against test servers: a CA and a leaf (localhost, 127.0.0.1, ::1) for the servers, a fresh
 * SANDGATE_HOME and Downloads folder per test, and everything started closed afterwards.
 */
export function useAgentBench(prefix: string) {
  let ca: ReturnType<typeof makeCa>;
  let leaf: Pem;
  let root = '';
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(() => {
    ca = makeCa();
    leaf = makeLeaf(ca);
  });
  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    mkdirSync(join(root, 'Downloads'), { recursive: true });
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    rmSync(root, { recursive: true, force: true });
  });

  const home = () => join(root, 'home');
  return {
    ca: () => ca,
    /** The certificate every test server presents. */
    leaf: () => leaf,
    root: () => root,
    home,
    /** Runs `fn` after the test (servers to close). */
    later(fn: () => Promise<void> | void): void {
      cleanups.push(fn);
    },
    /** An agent whose policy has `sandbox` (the CA pinned) and `response`, on the quick clock. */
    async agent(sandbox: Omit<PolicyInput['sandbox'], 'serverCertificate'>, response: PolicyInput['response'] = {}): Promise<Agent> {
      const policy = policySchema.parse({ sandbox: { ...sandbox, serverCertificate: ca.cert }, response });
      const agent = await createAgent({
        home: home(),
        loaded: { policy, path: join(root, 'policy.json'), serverCa: ca.cert },
        appVersion: '0.1.0-test',
        clock: quickClock,
      });
      cleanups.push(() => agent.close());
      return agent;
    },
    /** Writes `content` to Downloads/`name`, submits it as the browser would, and resolves with the finished job. */
    async judge(agent: Agent, name: string, content: string | Buffer): Promise<Job> {
      const path = join(root, 'Downloads', name);
      writeFileSync(path, content);
      const { jobId } = await agent.submit(path, { source: 'browser', browser: 'chromium', url: `https://example.org/${name}` });
      for (;;) {
        const j = agent.getJob(jobId);
        if (j && (j.state === 'done' || j.state === 'error')) return j;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    events: (): AgentEvent[] => new EventLog(sandgatePaths(home()).events).read().events,
  };
}
