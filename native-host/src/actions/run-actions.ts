import type { ActionResult, Policy } from '@sandgate/shared';
import type { RequestQueue } from '../queue/request-queue.ts';
import { actionsFor } from './index.ts';
import type { ActionContext, JudgedJob } from './response-action.ts';

/**
 * Runs the policy's response actions for a judged job, at most once each even across crashes: an action is marked
 * begun on disk before it runs and its result is stored right after, so after a restart a finished action is not
 * repeated and an interrupted one is reported as failed rather than run twice (a second quarantine of a path that
 * may since hold something else would be worse than none). Only malicious verdicts trigger responses.
 */
export async function runResponseActions(queue: RequestQueue, ctx: ActionContext, policy: Policy, job: JudgedJob): Promise<ActionResult[]> {
  if (job.verdict.level !== 'malicious') return [];
  const results: ActionResult[] = [...(job.actions ?? [])];
  const begun = queue.actionsStarted(job.jobId);
  for (const action of actionsFor(policy)) {
    if (results.some((r) => r.type === action.name)) continue;
    if (begun.includes(action.name)) {
      results.push({
        type: action.name,
        status: 'failed',
        code: action.name === 'quarantine' ? 'QUARANTINE_FAILED' : 'INTERNAL',
        message: 'The agent stopped while this action ran; it was not repeated (check `sandgate quarantine list`)',
      });
      await queue.update(job.jobId, { job: { actions: [...results] } });
      continue;
    }
    await queue.update(job.jobId, { actionStarted: action.name });
    results.push(await action.run(ctx, job));
    await queue.update(job.jobId, { job: { actions: [...results] } });
  }
  return results;
}
