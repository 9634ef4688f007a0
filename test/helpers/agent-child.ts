/**
 * The real agent (createAgent) in a process of its own, so a test can kill it with SIGKILL wherever it likes:
 *
 *   node test/helpers/agent-child.ts HOME FILE…
 *
 * It opens the agent on HOME (policy HOME/policy.json), submits every FILE it has no job for yet (what a browser would
 * send again: downloads it never got an answer for), prints `{"accepted": jobId}` per submission and, once every job
 * is finished, `{"jobs": […]}`, then closes the agent. Test seams through the environment: SANDGATE_CHILD_CONCURRENCY
 * (default 1, so each crash point is reached by the object it names), SANDGATE_CHILD_BACKOFF_MS (the failover's
 * first probe delay and its cap, for servers that come back) and SANDGATE_CHILD_IDLE_MS (how long a stalled server
 * is waited for). SANDGATE_CRASH_AT arms a crash point (native-host/src/crash-point.ts).
 */
import type { Job } from '@sandgate/shared';
import { createAgent } from '#native-host/agent/agent.ts';
import { loadPolicyFile } from '#native-host/config/load-policy.ts';

const [home, ...files] = process.argv.slice(2);
if (!home) throw new Error('usage: agent-child.ts HOME FILE…');
const num = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
const backoff = num('SANDGATE_CHILD_BACKOFF_MS');
const idle = num('SANDGATE_CHILD_IDLE_MS');
const agent = await createAgent({
  home,
  loaded: await loadPolicyFile(`${home}/policy.json`),
  appVersion: 'agent-child',
  concurrency: num('SANDGATE_CHILD_CONCURRENCY') ?? 1,
  ...(backoff ? { backoffBaseMs: backoff, backoffMaxMs: backoff } : {}),
  ...(idle ? { idleTimeoutMs: idle } : {}),
});
const known = new Set(agent.listJobs(1000).map((j) => j.path));
for (const f of files) {
  if (known.has(f)) continue;
  const r = await agent.submit(f, { source: 'cli' });
  console.log(JSON.stringify({ accepted: r.jobId }));
}
const over = (j: Job) => j.state === 'done' || j.state === 'error';
while (!agent.listJobs(1000).every(over)) await new Promise((r) => setTimeout(r, 10));
console.log(JSON.stringify({ jobs: agent.listJobs(1000) }));
await agent.close();
