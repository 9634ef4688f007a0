import type { Job } from '@sandgate/shared';
import type { Agent, AgentSituation } from './agent.ts';

export interface SwappableAgent extends Agent {
  /**
   * Replaces the running agent: new submissions wait, submissions in progress finish, the old agent closes (running
   * actions finish; unfinished jobs stay in the on-disk queue), then `next()` opens the new one on the same queue.
   * If `next()` fails, `fallback()` reopens an agent (with the last good policy) so the service keeps working, and
   * the error is rethrown.
   */
  replace(next: () => Promise<Agent>, fallback: () => Promise<Agent>): Promise<void>;
}

/**
 * An Agent whose implementation can be swapped while the IPC server keeps its connections: requests and
 * subscriptions go through here, so a client connected before a policy reload keeps receiving job updates after it.
 * (The agent itself reads its policy once, at creation; swapping is the least invasive way to apply a new one.)
 */
export function swappableAgent(first: Agent): SwappableAgent {
  let current = first;
  let swapping: Promise<void> | undefined;
  let inflight = 0;
  let drained: (() => void) | undefined;
  const jobListeners = new Set<(job: Job) => void>();
  const statusListeners = new Set<(s: AgentSituation) => void>();
  let lastSituation: AgentSituation | undefined;
  let detach: Array<() => void> = [];

  const attach = (a: Agent) => {
    detach = [
      a.onJobUpdate((job) => {
        for (const l of jobListeners) l(job);
      }),
      // Called at once with the new agent's situation, which every client then hears as a fresh agent-status push.
      a.onAgentStatus((s) => {
        lastSituation = s;
        for (const l of statusListeners) l(s);
      }),
    ];
  };
  attach(first);

  return {
    async submit(path, provenance) {
      while (swapping) await swapping;
      inflight++;
      try {
        return await current.submit(path, provenance);
      } finally {
        inflight--;
        if (inflight === 0) drained?.();
      }
    },
    status: () => current.status(),
    policy: () => current.policy(),
    relocate: (jobId, fromPath, newPath) => current.relocate?.(jobId, fromPath, newPath) ?? Promise.resolve(false),
    get tasks() {
      return current.tasks;
    },
    listJobs: (limit) => current.listJobs(limit),
    getJob: (jobId) => current.getJob(jobId),
    onJobUpdate(cb) {
      jobListeners.add(cb);
      return () => jobListeners.delete(cb);
    },
    onAgentStatus(cb) {
      statusListeners.add(cb);
      if (lastSituation) cb(lastSituation);
      return () => statusListeners.delete(cb);
    },
    async replace(next, fallback) {
      while (swapping) await swapping;
      let failure: unknown;
      swapping = (async () => {
        if (inflight > 0) await new Promise<void>((r) => (drained = r));
        drained = undefined;
        for (const off of detach) off();
        await current.close();
        try {
          current = await next();
        } catch (err) {
          failure = err;
          current = await fallback();
        }
        attach(current);
      })();
      try {
        await swapping;
      } finally {
        swapping = undefined;
      }
      if (failure) throw failure;
    },
    async close() {
      while (swapping) await swapping;
      for (const off of detach) off();
      await current.close();
    },
  };
}
