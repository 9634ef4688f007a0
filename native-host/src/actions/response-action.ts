import type { ActionResult, Job, Policy, Verdict } from '@sandgate/shared';
import type { QuarantineContext } from '../quarantine/quarantine-context.ts';
import type { TaskService } from '../tasks/task-service.ts';

export type ActionType = ActionResult['type'];

/** A job the sandbox has judged. */
export type JudgedJob = Job & { verdict: Verdict };

export interface ActionContext extends QuarantineContext {
  /** The policy the actions run under (the IOC scan task's scope, run mode and onMatch). */
  policy?: Policy;
  /** The agent's scan tasks; without it the scan actions are reported `skipped`. */
  tasks?: TaskService;
}

/** One response to a threat (style rule 11): a name from PRODUCT.md, whether the policy wants it, and how to run it. */
export interface ResponseAction {
  name: ActionType;
  enabled(policy: Policy): boolean;
  /** Never throws: a failure is a `failed` result with a code. */
  run(ctx: ActionContext, job: JudgedJob): Promise<ActionResult>;
  /**
   * After a crash cut this action short (begun, no result recorded): finds out what it got done. Returns its result
   * when it can tell, or `run-again` only when it can prove the first run changed nothing. Without `resume`, an
   * interrupted action is reported as failed and never repeated.
   */
  resume?(ctx: ActionContext, job: JudgedJob): Promise<ActionResult | 'run-again'>;
}
