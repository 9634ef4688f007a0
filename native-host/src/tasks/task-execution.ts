import { resolve } from 'node:path';
import { SandgateError, scanSummarySchema, type Policy, type ScanSummary, type Task, type TaskMatch } from '@sandgate/shared';
import type { Clock } from '../clock.ts';
import type { NewAgentEvent } from '../events/event-log.ts';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import type { CriticalAreaCollector } from '../scan/critical-areas/collector.ts';
import { MountTable } from '../scan/mount-table.ts';
import { defaultCollectors } from '../scan/run-scan.ts';
import type { IndicatorSource, ScanSession } from '../scan/scan-session.ts';
import { systemRoots } from '../scan/scan-paths.ts';
import type { SystemObjectOptions } from '../scan/system-objects/linux-system-objects.ts';
import { walkTree } from '../scan/walk-tree.ts';
import type { WalkPosition } from './resume-position.ts';
import { runTaskScan } from './run-task-scan.ts';
import { scopeText, taskEvent } from './task-events.ts';
import type { TaskStore } from './task-store.ts';
import { rearmAwaitingWitness } from './witness-rearm.ts';

// One run of one task, from its checkpoint until it completes, fails, or is stopped (paused, cancelled, the screen
// unlocked, the agent stopping): every outcome is saved with its event. Which task runs, and when, is the scheduler's.

export type StopReason = 'cancel' | 'pause' | 'closing' | 'idle-ended';

export interface TaskExecutionDeps {
  home: string;
  policy: Policy;
  clock: Clock;
  store: TaskStore;
  mounts?: MountTable | undefined;
  collectors?: CriticalAreaCollector[] | undefined;
  collectorRoot?: string | undefined;
  systemObjects?: SystemObjectOptions | undefined;
  checkpointEvery: number;
  onCheckpoint?: ((task: Task) => void) | undefined;
  indicatorsFor(t: Task): Promise<Array<{ set: IndicatorSet; source: IndicatorSource }>>;
  /** Runs the matches' pending actions (match-action-runner.ts). */
  matchActions(t: Task): Promise<Task>;
  /** True once for a task the console witnessed while it ran: its held-back quarantines are re-armed at this checkpoint. */
  takeWitness(taskId: string): boolean;
}

/** The run as the scheduler lets it see itself: its stop signal and why it was stopped. */
export interface TaskRun {
  signal: AbortSignal;
  reason(): StopReason | undefined;
  stop(reason: StopReason): void;
  /** Whether every idle source says the screen is locked (an idle task runs only then). */
  screenLocked(): boolean;
}

const MAX_ERRORS_KEPT = 100;
const MAX_MATCHES_KEPT = 1000;

export async function executeTask(deps: TaskExecutionDeps, task: Task, run: TaskRun): Promise<void> {
  const idleEndedCheck = (t: Task) => {
    if (t.runMode === 'idle' && !t.runRequested && !run.screenLocked()) run.stop('idle-ended');
  };
  const nowIso = () => deps.clock.now().toISOString();
  const resumed = task.progress.runs > 0;
  const mounts = deps.mounts ?? MountTable.read();
  let progress = { ...task.progress };
  let notExamined = task.notExamined;
  let scope: 'critical' | string[];
  if (task.scope === 'critical') {
    scope = 'critical';
    progress = { ...progress, rootIndex: 0, filesDone: 0, lastPath: undefined };
  } else if (task.scope === 'system') {
    if (!progress.roots) {
      // Fixed at the first run: a resume must walk the same roots in the same order.
      const sys = systemRoots(mounts);
      progress.roots = sys.roots;
      notExamined = [
        ...notExamined,
        ...sys.left.map((m) => ({
          area: 'system',
          what: m.path,
          reason: `${m.fsType}: not a local disk filesystem (virtual, network or image), not scanned`,
        })),
      ];
    }
    scope = progress.roots;
  } else {
    scope = task.scope;
    if (progress.total === undefined) progress.total = await countFiles(scope, [deps.home], mounts, run.signal);
  }
  const running: Task = {
    ...withoutPause(task),
    state: 'running',
    startedAt: task.startedAt ?? nowIso(),
    resumedAt: resumed ? [...task.resumedAt, nowIso()] : task.resumedAt,
    progress: { ...progress, runs: progress.runs + 1 },
    notExamined,
    updatedAt: nowIso(),
  };
  const startEvent = resumed
    ? taskEvent('scan-task-resumed', running, `continues from its checkpoint (${running.progress.filesDone} file(s) done)`)
    : taskEvent(
        'scan-task-started',
        running,
        `${running.kind === 'ioc' ? 'IOC scan' : 'Critical Areas Scan'} of ${scopeText(running.scope)} started`,
      );
  let t = await deps.store.save(running, [startEvent]);
  // The screen may have been unlocked between the pick and now.
  idleEndedCheck(t);

  try {
    const indicators = await deps.indicatorsFor(t);
    const base = { stats: t.stats, filesDone: t.progress.filesDone, matchesSeen: 0, errorsSeen: 0 };
    const result = await runTaskScan({
      scope,
      position: { rootIndex: t.progress.rootIndex, lastPath: t.progress.lastPath },
      indicators,
      maxFileBytes: deps.policy.scan.maxFileBytes,
      cpuBudgetPercent: deps.policy.scan.cpuBudgetPercent,
      exclude: [deps.home],
      mounts,
      collectors: deps.collectors ?? defaultCollectors(),
      ...(deps.collectorRoot ? { collectorRoot: deps.collectorRoot } : {}),
      ...(deps.systemObjects ? { systemObjects: deps.systemObjects } : {}),
      signal: run.signal,
      checkpointEvery: deps.checkpointEvery,
      checkpoint: async (pos, session) => {
        t = await checkpoint(deps, t, base, pos, session);
        // A report that expired says nothing when it does: the lock is checked again at every checkpoint.
        idleEndedCheck(t);
      },
    });
    if (result.outcome === 'completed') {
      const done: Task = { ...t, state: 'completed', finishedAt: nowIso(), updatedAt: nowIso() };
      const summary = `${done.stats.filesSeen} object(s) checked, ${done.stats.hashed} read, ${done.matches.length} match(es), ${done.termCounts.unsupported} term(s) not evaluable here`;
      t = await deps.store.save(done, [taskEvent('scan-task-completed', done, summary)]);
      return;
    }
    const reason = run.reason() ?? 'closing';
    if (reason === 'cancel') {
      const cancelled: Task = { ...t, state: 'cancelled', finishedAt: nowIso(), updatedAt: nowIso() };
      t = await deps.store.save(cancelled, [
        taskEvent(
          'scan-task-cancelled',
          cancelled,
          `cancelled by a person after ${cancelled.progress.filesDone} file(s); its results are kept`,
        ),
      ]);
      return;
    }
    const pauseReason = reason === 'pause' ? 'user' : reason === 'idle-ended' ? 'idle-ended' : 'interrupted';
    const why = {
      user: 'paused by a person; continues after `sandgate ioc task resume`',
      'idle-ended': 'the screen was unlocked; continues when it is locked again',
      interrupted: 'the agent is stopping; continues from its checkpoint when it runs again',
    }[pauseReason];
    const paused: Task = { ...t, state: 'paused', pauseReason, updatedAt: nowIso() };
    t = await deps.store.save(paused, [taskEvent('scan-task-paused', paused, `${why} (${paused.progress.filesDone} file(s) done)`)]);
  } catch (err) {
    const e =
      err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
    const failed: Task = { ...t, state: 'failed', error: { code: e.code, message: e.message }, finishedAt: nowIso(), updatedAt: nowIso() };
    t = await deps.store.save(failed, [taskEvent('scan-task-failed', failed, e.message, e.code)]);
  }
}

/** Progress, counters and new matches on disk; then what the policy says to do about the matches. */
async function checkpoint(
  deps: TaskExecutionDeps,
  t: Task,
  base: { stats: ScanSummary; filesDone: number; matchesSeen: number; errorsSeen: number },
  pos: WalkPosition,
  session: ScanSession,
): Promise<Task> {
  const c = session.counters;
  const stats = Object.fromEntries(
    Object.keys(scanSummarySchema.shape).map((k) => [k, base.stats[k as keyof ScanSummary] + c[k as keyof ScanSummary]]),
  ) as ScanSummary;
  const fresh: TaskMatch[] = [];
  const known = new Set(t.matches.map(matchKey));
  let casPlanned = t.matches.some((m) => m.actions.some((a) => a.type === 'critical-areas-scan'));
  for (const m of session.matches.slice(base.matchesSeen)) {
    if (known.has(matchKey(m)) || t.matches.length + fresh.length >= MAX_MATCHES_KEPT) continue;
    known.add(matchKey(m));
    const actions: TaskMatch['actions'] = [];
    if (t.onMatch.quarantine) actions.push({ type: 'quarantine', status: 'pending' });
    if (t.onMatch.criticalAreasScan && !casPlanned) {
      actions.push({ type: 'critical-areas-scan', status: 'pending' });
      casPlanned = true;
    }
    fresh.push({ ...m, foundAt: deps.clock.now().toISOString(), actions });
  }
  base.matchesSeen = session.matches.length;
  const newErrors = session.errors.slice(base.errorsSeen);
  base.errorsSeen = session.errors.length;
  const notes = [...t.notExamined];
  for (const n of session.notExamined) if (!notes.some((x) => x.what === n.what)) notes.push(n);
  const { lastPath: _, ...progress } = t.progress;
  // The matches and their events in one write: a match on disk is always reported, and only once.
  const matchEvents: NewAgentEvent[] = fresh.map((m) => ({
    type: 'scan-task-match',
    taskId: t.id,
    path: m.path,
    iocId: m.iocId,
    ...(m.sha256 ? { sha256: m.sha256 } : {}),
    message: m.description ?? m.terms.join(', '),
  }));
  // Witnessed while running: the quarantines held back so far are re-armed with this checkpoint.
  const rearmed = deps.takeWitness(t.id) ? rearmAwaitingWitness(t) : undefined;
  t = await deps.store.save(
    {
      ...(rearmed ?? t),
      progress: {
        ...progress,
        rootIndex: pos.rootIndex,
        ...(pos.lastPath ? { lastPath: pos.lastPath } : {}),
        filesDone: base.filesDone + c.filesSeen,
      },
      stats,
      matches: [...(rearmed ?? t).matches, ...fresh],
      notExamined: notes,
      errors: [...t.errors, ...newErrors].slice(0, MAX_ERRORS_KEPT),
      updatedAt: deps.clock.now().toISOString(),
    },
    matchEvents,
  );
  if (rearmed || fresh.some((m) => m.actions.length)) t = await deps.matchActions(t);
  deps.onCheckpoint?.(t);
  return t;
}

function withoutPause(t: Task): Task {
  const { pauseReason: _, ...rest } = t;
  return rest;
}

function matchKey(m: { path: string; iocId: string; origin?: string | undefined; pid?: number | undefined }): string {
  return `${m.path}\0${m.iocId}\0${m.origin ?? ''}\0${m.pid ?? ''}`;
}

/** Files in a PATH scope, counted before the first run so progress can say "n of N" (a walk, nothing read). */
async function countFiles(
  roots: readonly string[],
  exclude: readonly string[],
  mounts: MountTable,
  signal: AbortSignal,
): Promise<number | undefined> {
  const ex = exclude.map((p) => resolve(p));
  let n = 0;
  for (const root of roots) {
    for await (const ev of walkTree(root, {
      oneFilesystem: true,
      mounts,
      signal,
      skipDir: (p) => ex.some((x) => p === x || p.startsWith(x + '/')),
    }))
      if (ev.kind === 'file') n++;
  }
  // Stopped while counting: counted again next run rather than recorded short.
  return signal.aborted ? undefined : n;
}
