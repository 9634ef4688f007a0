import type { Task } from '@sandgate/shared';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { screenLocked, type IdleSource } from './idle-source.ts';
import type { StopReason, TaskRun } from './task-execution.ts';
import { isFinished, mayRun } from './task-state.ts';
import type { TaskStore } from './task-store.ts';

export interface TaskSchedulerDeps {
  store: TaskStore;
  idle: IdleSource[];
  log: Logger;
  clock: Clock;
  /** `response.iocScan.keepResultsDays`: finished tasks older than this are removed. */
  keepResultsDays: number;
  /** Runs one task until it completes, fails or is stopped (task-execution.ts). */
  execute(task: Task, run: TaskRun): Promise<void>;
  /** After each run, once the task's record is no longer held by it. */
  afterRun(taskId: string): Promise<void>;
  /** Tasks being changed outside a run (held-back quarantines re-armed): not picked meanwhile. */
  busy(taskId: string): boolean;
}

/** Which stop wins when two arrive during one run (a person's cancel over the screen being unlocked). */
const STOP_RANK: Record<StopReason, number> = { cancel: 4, pause: 3, closing: 2, 'idle-ended': 1 };

const RECHECK_MS = 30_000;
const HOUSEKEEPING_MS = 6 * 3600_000;
const DAY_MS = 24 * 3600_000;

interface Current {
  id: string;
  ctrl: AbortController;
  reason: StopReason | undefined;
  done: Promise<void>;
}

/**
 * One task at a time, oldest first: `afterThreat` tasks and tasks someone ran at once whenever they wait, `idle` tasks
 * only while the screen is locked (stopped when it is unlocked). Woken at once by a new task or a command, otherwise
 * it looks again every 30 s. Also removes finished tasks past their retention.
 */
export class TaskScheduler {
  private readonly d: TaskSchedulerDeps;
  private current: Current | undefined;
  private closed = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private idleWatch: Array<() => void> | undefined;
  private lastHousekeeping = 0;

  constructor(d: TaskSchedulerDeps) {
    this.d = d;
  }

  /** Retention first, so a task past it is gone before anyone can list it; then the loop. */
  async start(): Promise<void> {
    await this.housekeeping();
    this.loopDone = this.loop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop('closing');
    this.wake();
    await this.loopDone;
    for (const off of this.idleWatch ?? []) off();
  }

  /** Looks for work now (a task was created, commanded or re-armed). */
  wake(): void {
    this.wakeUp?.();
  }

  /** The task running now and a promise of the end of its run. */
  running(): { id: string; done: Promise<void> } | undefined {
    return this.current ? { id: this.current.id, done: this.current.done } : undefined;
  }

  /** Stops the running task (if any) for this reason, unless it is already stopping for a stronger one. */
  stop(reason: StopReason): void {
    const cur = this.current;
    if (!cur) return;
    if (!cur.reason || STOP_RANK[reason] > STOP_RANK[cur.reason]) cur.reason = reason;
    cur.ctrl.abort();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      try {
        await this.housekeeping();
        const next = this.pick();
        if (next) await this.runOne(next);
        else await this.sleep(RECHECK_MS);
      } catch (err) {
        // A fault outside a task's own run (the store unwritable): wait rather than spin on it.
        this.d.log.error('task runner fault', { error: err instanceof Error ? err.message : String(err) });
        await this.sleep(RECHECK_MS);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolveSleep) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolveSleep();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wakeUp = done;
    });
  }

  /** The oldest task that may run now. The screen's state is asked only when an idle task waits for it. */
  private pick(): Task | undefined {
    const waiting = this.d.store
      .list()
      .filter((t) => !isFinished(t) && !this.d.busy(t.id))
      .reverse();
    const wantsIdle = waiting.some((t) => t.runMode === 'idle' && !t.runRequested && t.pauseReason !== 'user');
    if (wantsIdle && !this.idleWatch) this.idleWatch = this.d.idle.map((s) => s.onChange(() => this.wake()));
    const locked = wantsIdle && screenLocked(this.d.idle);
    return waiting.find((t) => mayRun(t, locked));
  }

  private async housekeeping(): Promise<void> {
    const now = this.d.clock.now();
    if (now.getTime() - this.lastHousekeeping < HOUSEKEEPING_MS) return;
    this.lastHousekeeping = now.getTime();
    const keepMs = this.d.keepResultsDays * DAY_MS;
    for (const t of this.d.store.list()) {
      if (!isFinished(t) || !t.finishedAt || now.getTime() - Date.parse(t.finishedAt) < keepMs) continue;
      await this.d.store.remove(t.id);
      this.d.log.info('scan task removed after its retention period', { taskId: t.id, finishedAt: t.finishedAt });
    }
  }

  private async runOne(task: Task): Promise<void> {
    let finish!: () => void;
    const cur: Current = { id: task.id, ctrl: new AbortController(), reason: undefined, done: new Promise((r) => (finish = r)) };
    this.current = cur;
    const offIdle: Array<() => void> = [];
    try {
      if (task.runMode === 'idle' && !task.runRequested) {
        const check = () => {
          if (!screenLocked(this.d.idle)) this.stop('idle-ended');
        };
        for (const s of this.d.idle) offIdle.push(s.onChange(check));
      }
      const run: TaskRun = {
        signal: cur.ctrl.signal,
        reason: () => cur.reason,
        stop: (reason) => this.stop(reason),
        screenLocked: () => screenLocked(this.d.idle),
      };
      // A failure here is the store's (a scan's own failure is recorded in the task): the loop waits before retrying.
      await this.d.execute(task, run);
    } finally {
      for (const off of offIdle) off();
      this.current = undefined;
      finish();
    }
    await this.d.afterRun(task.id);
  }
}
