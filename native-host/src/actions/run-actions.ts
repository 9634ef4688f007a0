import type { ActionResult, Policy } from '@sandgate/shared';
import { crashPoint } from '../crash-point.ts';
import type { JobEvent, JobStore } from '../queue/job-store.ts';
import { actionsFor } from './index.ts';
import type { ActionContext, JudgedJob } from './response-action.ts';

/**
 * Runs the policy's response actions for a judged job, exactly once each even across crashes: an action is marked
 * begun on disk before it runs and its result is stored right after, so after a restart a finished action is not
 * repeated. An interrupted one is asked what it got done (`resume`): the quarantine looks for its own copy in the
 * store and is run again only when there is none. An action that cannot tell is reported as failed rather than run
 * twice. Only malicious verdicts trigger responses, and never on a SHA-256 in `response.allowSha256` (each action the
 * policy would have run is reported `skipped` with `ALLOWED_FALSE_POSITIVE`, plus one `verdict-allowed` event).
 */
export async function runResponseActions(queue: JobStore, ctx: ActionContext, policy: Policy, job: JudgedJob): Promise<ActionResult[]> {
  if (job.verdict.level !== 'malicious') return [];
  const results: ActionResult[] = [...(job.actions ?? [])];
  const begun = queue.actionsStarted(job.jobId);
  // An administrator declared this object a false positive: the verdict stands, nothing is done about it. An action
  // already begun before the policy said so still finishes below (resume), so a half-made quarantine is never left.
  const allowed = policy.response.allowSha256.includes(job.sha256);
  let skipped = false;
  for (const action of actionsFor(policy)) {
    if (results.some((r) => r.type === action.name)) continue;
    if (allowed && !begun.includes(action.name)) {
      results.push({
        type: action.name,
        status: 'skipped',
        code: 'ALLOWED_FALSE_POSITIVE',
        message: 'A known false positive: response.allowSha256 lists this SHA-256',
      });
      skipped = true;
      continue;
    }
    // The result and the event that reports it are recorded in one write, so a crash cannot keep one without the other.
    if (begun.includes(action.name)) {
      const found = action.resume ? await action.resume(ctx, job) : undefined;
      const result = found === 'run-again' ? await action.run(ctx, job) : (found ?? interrupted(action.name));
      results.push(result);
      await queue.update(job.jobId, { job: { actions: [...results] }, events: resultEvents(job, result) });
      continue;
    }
    await queue.update(job.jobId, { actionStarted: action.name });
    if (action.name === 'quarantine') crashPoint('after-quarantine-started');
    const result = await action.run(ctx, job);
    results.push(result);
    if (action.name === 'quarantine') crashPoint('after-quarantine-returned');
    await queue.update(job.jobId, { job: { actions: [...results] }, events: resultEvents(job, result) });
    if (action.name === 'quarantine') crashPoint('after-quarantine-done-before-commit');
  }
  if (skipped) {
    const allowedEvent: JobEvent = {
      what: 'verdict-allowed',
      event: {
        type: 'verdict-allowed',
        path: job.path,
        sha256: job.sha256,
        level: job.verdict.level,
        code: 'ALLOWED_FALSE_POSITIVE',
        message: 'judged malicious, not acted on: a known false positive (response.allowSha256)',
        ...(job.verdict.threat ? { threat: job.verdict.threat } : {}),
      },
    };
    await queue.update(job.jobId, { job: { actions: [...results] }, events: [allowedEvent] });
  }
  return results;
}

/** The event a response action's result is reported by; the scan actions' tasks report themselves (`scan-task-*`). */
function resultEvents(job: JudgedJob, result: ActionResult): JobEvent[] {
  if (result.type !== 'quarantine' || result.status === 'skipped' || result.status === 'scheduled') return [];
  const threat = job.verdict.threat ? { threat: job.verdict.threat } : {};
  const common = { path: job.path, sha256: job.sha256, ...threat };
  return result.status === 'done'
    ? [{ what: 'action:quarantine', event: { type: 'quarantined', ...common, ...(result.id ? { quarantineId: result.id } : {}) } }]
    : [
        {
          what: 'action:quarantine',
          event: {
            type: 'quarantine-failed',
            ...common,
            ...(result.code ? { code: result.code } : {}),
            ...(result.message ? { message: result.message } : {}),
          },
        },
      ];
}

function interrupted(name: ActionResult['type']): ActionResult {
  return {
    type: name,
    status: 'failed',
    code: name === 'quarantine' ? 'QUARANTINE_FAILED' : 'INTERNAL',
    message: 'The agent stopped while this action ran; it was not repeated (check `sandgate quarantine list`)',
  };
}
