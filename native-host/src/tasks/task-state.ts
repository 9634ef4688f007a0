import { SandgateError, type Task } from '@sandgate/shared';

export type TaskCommand = 'run' | 'pause' | 'resume' | 'cancel';

const FINISHED: ReadonlySet<Task['state']> = new Set(['completed', 'failed', 'cancelled']);

export function isFinished(task: Task): boolean {
  return FINISHED.has(task.state);
}

/**
 * What a command does to a task that is not running in this process right now (a running task gets the same answer
 * and is stopped by the runner at the next file). Pure, so the state machine is tested on its own:
 * `created → running ⇄ paused → completed | failed | cancelled`.
 */
export function applyCommand(task: Task, command: TaskCommand, now: Date): Task {
  if (isFinished(task)) {
    throw new SandgateError('TASK_STATE_CONFLICT', `task ${task.id} is ${task.state}; it cannot ${command}`, {
      params: { id: task.id, state: task.state },
    });
  }
  const at = now.toISOString();
  switch (command) {
    case 'run': {
      // An explicit run overrides a pause made by `pause` too: the person asked for it now.
      const { pauseReason: _, ...rest } = task;
      return { ...rest, runRequested: true, updatedAt: at };
    }
    case 'pause':
      if (task.state === 'paused' && task.pauseReason === 'user') return task;
      return { ...task, state: 'paused', pauseReason: 'user', updatedAt: at };
    case 'resume': {
      if (task.state !== 'paused' || task.pauseReason !== 'user') {
        throw new SandgateError(
          'TASK_STATE_CONFLICT',
          `task ${task.id} is ${describeState(task)}, not paused by a person; nothing to resume`,
          { params: { id: task.id, state: task.state } },
        );
      }
      // Back to what the run mode says: afterThreat and run tasks continue, idle ones wait for the lock, manual ones for `run`.
      const { pauseReason: _, ...rest } = task;
      if (task.progress.runs === 0) return { ...rest, state: 'created', updatedAt: at };
      return { ...rest, pauseReason: task.runMode === 'idle' && !task.runRequested ? 'idle-ended' : 'interrupted', updatedAt: at };
    }
    case 'cancel':
      return { ...task, state: 'cancelled', finishedAt: at, updatedAt: at };
  }
}

/**
 * Whether the runner may start (or continue) this task now. `locked`: the screen is locked or the screensaver runs.
 * An `idle` task runs only then, unless `ioc task run` asked for it; a `manual` task only after `run`.
 */
export function mayRun(task: Task, locked: boolean): boolean {
  if (task.state !== 'created' && task.state !== 'paused' && task.state !== 'running') return false;
  if (task.pauseReason === 'user') return false;
  if (task.runRequested) return true;
  return task.runMode === 'idle' && locked;
}

/** A running task found at start-up was cut short by a stop or a crash: it continues from its checkpoint. */
export function interrupted(task: Task, now: Date): Task {
  if (task.state !== 'running') return task;
  return { ...task, state: 'paused', pauseReason: 'interrupted', updatedAt: now.toISOString() };
}

export function describeState(task: Pick<Task, 'state' | 'pauseReason'>): string {
  if (task.state !== 'paused') return task.state;
  const why = { user: 'by a person', 'idle-ended': 'waits for the screen to lock', interrupted: 'continues from its checkpoint' }[
    task.pauseReason ?? 'interrupted'
  ];
  return `paused (${why})`;
}
