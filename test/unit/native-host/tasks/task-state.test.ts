import { describe, expect, it } from 'vitest';
import { SandgateError } from '@sandgate/shared';
import { applyCommand, interrupted, mayRun } from '#native-host/tasks/task-state.ts';
import { aTask } from './task-fixture.ts';

const now = new Date('2026-11-02T08:00:00Z');
const conflict = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as SandgateError).code;
  }
  return 'no error';
};

describe('scan task state machine', () => {
  it('a manual task waits for "run"; an afterThreat one runs at once; an idle one only while the screen is locked', () => {
    const manual = aTask({ runMode: 'manual' });
    expect(mayRun(manual, true)).toBe(false);
    expect(mayRun(applyCommand(manual, 'run', now), false)).toBe(true);
    expect(mayRun(aTask({ runMode: 'afterThreat', runRequested: true }), false)).toBe(true);
    const idle = aTask({ runMode: 'idle' });
    expect(mayRun(idle, false)).toBe(false);
    expect(mayRun(idle, true)).toBe(true);
    // "run" on an idle task means now, lock or not.
    expect(mayRun(applyCommand(idle, 'run', now), false)).toBe(true);
  });

  it('a task paused by a person stays paused whatever the lock, until resumed', () => {
    const running = aTask({
      runMode: 'idle',
      state: 'running',
      progress: { rootIndex: 0, filesDone: 10, runs: 1, lastPath: '/srv/files/a' },
    });
    const paused = applyCommand(running, 'pause', now);
    expect(paused).toMatchObject({ state: 'paused', pauseReason: 'user' });
    expect(mayRun(paused, true)).toBe(false);
    const resumed = applyCommand(paused, 'resume', now);
    // Back to its run mode: an idle task waits for the next lock, keeping its position.
    expect(resumed).toMatchObject({ state: 'paused', pauseReason: 'idle-ended', progress: { lastPath: '/srv/files/a' } });
    expect(mayRun(resumed, false)).toBe(false);
    expect(mayRun(resumed, true)).toBe(true);
  });

  it('pausing a task that never ran, then resuming it, leaves it created', () => {
    const t = applyCommand(applyCommand(aTask(), 'pause', now), 'resume', now);
    expect(t.state).toBe('created');
    expect(t.pauseReason).toBeUndefined();
  });

  it('a running task found at start-up continues from its checkpoint', () => {
    const t = interrupted(
      aTask({ state: 'running', runRequested: true, progress: { rootIndex: 0, filesDone: 5, runs: 1, lastPath: '/x' } }),
      now,
    );
    expect(t).toMatchObject({ state: 'paused', pauseReason: 'interrupted', progress: { lastPath: '/x' } });
    expect(mayRun(t, false)).toBe(true);
  });

  it('cancel is final: a finished task refuses every command with TASK_STATE_CONFLICT', () => {
    const cancelled = applyCommand(aTask(), 'cancel', now);
    expect(cancelled).toMatchObject({ state: 'cancelled', finishedAt: now.toISOString() });
    for (const c of ['run', 'pause', 'resume', 'cancel'] as const) {
      expect(conflict(() => applyCommand(cancelled, c, now))).toBe('TASK_STATE_CONFLICT');
      expect(conflict(() => applyCommand(aTask({ state: 'completed' }), c, now))).toBe('TASK_STATE_CONFLICT');
    }
    expect(mayRun(cancelled, true)).toBe(false);
  });

  it('resume of a task nobody paused is refused rather than silently ignored', () => {
    expect(conflict(() => applyCommand(aTask({ state: 'paused', pauseReason: 'idle-ended' }), 'resume', now))).toBe('TASK_STATE_CONFLICT');
  });
});
