import { basename } from 'node:path';
import { SandgateError, type Job, type Policy, type Verdict } from '@sandgate/shared';
import type { ActionContext } from '../actions/response-action.ts';
import { runResponseActions } from '../actions/run-actions.ts';
import type { Clock } from '../clock.ts';
import { crashPoint } from '../crash-point.ts';
import type { Logger } from '../log.ts';
import type { JobEvent, JobStore } from '../queue/job-store.ts';
import type { Lease, ObjectQueue } from '../queue/object-queue.ts';
import type { VerdictCache } from '../queue/verdict-cache.ts';
import type { Failover } from '../sandbox/failover.ts';

export interface JudgeDeps {
  queue: ObjectQueue & JobStore;
  verdicts: VerdictCache;
  failover: Failover;
  actions: ActionContext;
  policy: Policy;
  clock: Clock;
  log: Logger;
  /** Every change of a job, for the listeners (the extension, `sandgate submit --wait`). */
  emit(job: Job): void;
  signal: AbortSignal;
}

/**
 * One leased object from queue to verdict to response: a verdict recorded before a restart wins, then one remembered
 * from an earlier download of the same bytes (no server contacted either way), else the sandbox servers in turn. Every
 * job of the object then gets the verdict and the policy's response actions, exactly once each across crashes.
 */
export async function judgeObject(d: JudgeDeps, lease: Lease): Promise<void> {
  const { queue } = d;
  let verdict: Verdict | undefined = lease.jobs.find((j) => j.verdict)?.verdict;
  if (!verdict) {
    const known = d.verdicts.get(lease.sha256);
    if (known) verdict = { ...known, cached: true };
  }
  if (!verdict) {
    const first = lease.jobs[0]!;
    // The jobs are marked `analysing` (a durable write) while the server is asked, not before: the mark only reports
    // progress, and a crash before it is durable leaves the job queued, to be asked about again (the server then knows
    // the object by its hash). Everything that follows waits for it, so no later state can be overwritten by it.
    const marking = (async () => {
      for (const j of lease.jobs) {
        const submitted =
          j === first ? [{ what: 'submitted', event: { type: 'object-submitted' as const, path: first.path, sha256: lease.sha256 } }] : [];
        d.emit(await queue.update(j.jobId, { job: { state: 'analysing', error: undefined }, events: submitted }));
      }
    })();
    marking.catch(() => {});
    try {
      const answer = await d.failover.analyse(
        { sha256: lease.sha256, body: lease.body, filename: basename(first.path) },
        {
          signal: d.signal,
          jobId: first.jobId,
          // Between rounds the jobs are visibly back in the queue, with the reason, until a server answers.
          onRoundFailed: async (err) => {
            await marking;
            for (const j of queue.jobsFor(lease.sha256))
              d.emit(await queue.update(j.jobId, { job: { state: 'queued', error: err.toWire() } }));
          },
        },
      );
      await marking;
      verdict = { ...answer, judgedAt: answer.judgedAt ?? d.clock.now().toISOString() };
    } catch (err) {
      await marking.catch(() => {});
      if (d.signal.aborted) return;
      const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err));
      for (const j of queue.jobsFor(lease.sha256)) d.emit(await queue.commit(j.jobId, { error: e.toWire() }));
      return;
    }
    crashPoint('after-submit-before-verdict');
    // Only an optimisation: a verdict that cannot be remembered costs one more upload later, never this job.
    await d.verdicts
      .put(lease.sha256, verdict)
      .catch((err: unknown) => d.log.warn('the verdict could not be cached', { sha256: lease.sha256, error: String(err) }));
  }
  // Jobs that join while the actions run are picked up by the next pass; the object file stays until the last one.
  for (let jobs = queue.jobsFor(lease.sha256); jobs.length; jobs = queue.jobsFor(lease.sha256)) {
    for (const j of jobs) await finishJob(d, j, verdict);
  }
}

async function finishJob(d: JudgeDeps, job: Job, verdict: Verdict): Promise<void> {
  let judged = job;
  if (!judged.verdict) {
    // The verdict and its events are recorded in one write (the job's outbox), then logged: a crash anywhere here
    // leaves either neither or both, and the next start logs what is missing, once.
    const verdictEvents: JobEvent[] = [];
    if (verdict.cached) {
      verdictEvents.push({
        what: 'verdict-cached',
        event: {
          type: 'verdict-cached',
          path: job.path,
          sha256: job.sha256,
          level: verdict.level,
          server: verdict.server,
          message: `answered from the verdict cache; judged ${verdict.judgedAt ?? 'earlier'}`,
        },
      });
    }
    verdictEvents.push({
      what: 'verdict',
      event: {
        type: 'verdict',
        path: job.path,
        sha256: job.sha256,
        level: verdict.level,
        server: verdict.server,
        ...(verdict.threat ? { threat: verdict.threat } : {}),
      },
    });
    judged = await d.queue.update(job.jobId, { job: { state: 'analysing', verdict, error: undefined }, events: verdictEvents });
    d.emit(judged);
    crashPoint('after-verdict-recorded');
  }
  const actions = await runResponseActions(d.queue, d.actions, d.policy, { ...judged, verdict });
  d.emit(await d.queue.commit(job.jobId, { verdict, actions }));
}
