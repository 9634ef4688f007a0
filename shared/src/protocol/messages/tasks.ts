import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.ts';
import { taskRunModeSchema, taskScopeSchema } from '../../cli-output.ts';

/**
 * `list-tasks`: every scan task the agent keeps (IOC scan tasks and Critical Areas Scans), newest first. CLI only: not
 * in BROWSER_REQUEST_TYPES. Result: `taskListOutputSchema`. @since 1 (issue 5)
 */
export const listTasksRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('list-tasks'),
    payload: z.object({ limit: z.number().int().min(1).max(1000).default(200) }).default({ limit: 200 }),
  }),
);

const taskId = lazySchema(() => z.string().regex(/^[0-9a-f]{16}$/));

/**
 * `task-command`: look at, steer or create a task. CLI only. Result: the task after the command (`taskSchema`).
 * - `show`: the task as stored;
 * - `run`: start it now (a `manual` task; an `idle` task without waiting for the lock);
 * - `pause`: stop it after the file at hand, keeping its position; it waits for `resume`;
 * - `resume`: lift a pause made by `pause`; it then runs as its run mode says;
 * - `cancel`: stop it for good (its results are kept);
 * - `create`: a new IOC scan task from IOC files the agent reads (absolute paths), copied into the task.
 * Errors: TASK_NOT_FOUND, TASK_STATE_CONFLICT (e.g. pausing a finished task), IOC_* for an IOC file that does not
 * parse, FILE_NOT_FOUND. @since 1 (issue 5)
 */
export const taskCommandRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('task-command'),
    payload: z.discriminatedUnion('command', [
      z.object({ command: z.enum(['show', 'run', 'pause', 'resume', 'cancel']), id: taskId }),
      z.object({
        command: z.literal('create'),
        iocFiles: z.array(z.string().min(1).max(4096)).min(1).max(100),
        scope: taskScopeSchema.default('critical'),
        runMode: taskRunModeSchema.default('manual'),
        onMatch: z
          .object({ quarantine: z.boolean().default(false), criticalAreasScan: z.boolean().default(false) })
          .default({ quarantine: false, criticalAreasScan: false }),
      }),
    ]),
  }),
);
export type TaskCommandPayload = z.infer<typeof taskCommandRequestSchema>['payload'];

/**
 * `report-idle`: the browser's `chrome.idle` state (`locked` when the screen locks or the screensaver starts; Firefox
 * reports only `active` and `idle`). IOC scan tasks in `idle` run mode run while any source says `locked`. A report
 * counts for 2 minutes: the extension renews it every minute while it is connected, so a browser that
 * closed cannot keep the machine "away". Result: `{}`. Browser request. @since 1 (issue 5)
 */
export const idleStateSchema = lazySchema(() => z.enum(['active', 'idle', 'locked']));
export const reportIdleRequestSchema = lazySchema(() =>
  z.object({
    type: z.literal('report-idle'),
    payload: z.object({ state: idleStateSchema }),
  }),
);
export const reportIdleResultSchema = lazySchema(() => z.object({}));
