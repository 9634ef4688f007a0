import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { SandgateError, scanSummarySchema, type Policy, type ScanSummary, type Task, type TaskMatch, type TaskSummary } from '@sandgate/shared';
import type { QuarantineContext } from '../quarantine/quarantine-context.ts';
import type { Clock } from '../clock.ts';
import type { EventLog, NewAgentEvent } from '../events/event-log.ts';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import type { Logger } from '../log.ts';
import type { CriticalAreaCollector } from '../scan/critical-areas/collector.ts';
import { KnownBadHashes, readKnownBadHashes, type KnownBadHash } from '../scan/known-bad-hashes.ts';
import { MountTable } from '../scan/mount-table.ts';
import { defaultCollectors } from '../scan/run-scan.ts';
import { compileIocFilesForThisHost } from '../scan/host-term-limits.ts';
import type { SystemObjectOptions } from '../scan/system-objects/linux-system-objects.ts';
import type { IndicatorSource, ScanSession } from '../scan/scan-session.ts';
import { systemRoots } from '../scan/scan-paths.ts';
import { walkTree } from '../scan/walk-tree.ts';
import { activeTaskIndicators } from './active-task-iocs.ts';
import { compileTaskIocs, storedIocName } from './compile-task-iocs.ts';
import { ReportedIdleSource, defaultIdleSources, screenLocked, type IdleSource } from './idle-source.ts';
import { matchActionEvents, quarantineMatch } from './match-actions.ts';
import type { WalkPosition } from './resume-position.ts';
import { runTaskScan } from './run-task-scan.ts';
import { applyCommand, interrupted, isFinished, mayRun, type TaskCommand } from './task-state.ts';
import { ALLOWED_FALSE_POSITIVE, AWAITING_WITNESS, GUARD_FILE, NEVER_QUARANTINE_PUBLISHER, NOT_THE_OBJECT, guardDecision, readTaskGuard, writeWitnessedGuard, type GuardDecision, type TaskGuard } from './task-guard.ts';
import { rearmAwaitingWitness } from './witness-rearm.ts';
import { IOC_DIR, TaskStore, newTaskId, summarize } from './task-store.ts';

export interface CreateTaskInput {
  kind: Task['kind'];
  createdBy: Task['createdBy'];
  jobId?: string;
  parentTaskId?: string;
  scope: Task['scope'];
  runMode: Task['runMode'];
  onMatch: Task['onMatch'];
  /** IOC files: the bytes, and where they came from (shown in reports and errors). */
  iocs: ReadonlyArray<{ bytes: Uint8Array; source: string }>;
  /** SHA-256 values checked besides the IOCs (the object that triggered a Critical Areas Scan). */
  sha256?: string[];
  /** A console group task's limits (dry run, never-quarantine), stored with the task and checked before every quarantine. */
  guard?: TaskGuard;
}

/** A console group task's share, as the agent's console channel hands it over. */
export interface ConsoleTaskInput {
  /** OpenIOC 1.1 text and a name for it (shown in reports). */
  ioc: { xml: string; source: string };
  /** Absolute paths (already expanded on this workstation), or `critical` / `system`. */
  scope: Task['scope'];
  runMode: Task['runMode'];
  onMatch: Task['onMatch'];
  guard: TaskGuard;
}

/** What response actions, the router and the CLI need from the tasks. */
export interface TaskService {
  list(limit?: number): TaskSummary[];
  /** Throws TASK_NOT_FOUND. */
  get(id: string): Task;
  /** The task a response action created for a job, found again after a crash. */
  findByJob(jobId: string, kind: Task['kind']): Task | undefined;
  create(input: CreateTaskInput): Promise<Task>;
  /** `ioc task create`: IOC files and scope paths named on a command line (absolute paths, read by the agent). */
  createFromFiles(files: readonly string[], opts: Pick<CreateTaskInput, 'scope' | 'runMode' | 'onMatch'>): Promise<Task>;
  /** A console group task's share: an IOC scan task whose quarantines its guard limits (optional: test fakes leave it out). */
  createFromConsole?(input: ConsoleTaskInput): Promise<Task>;
  /**
   * The console witnessed a console task's object: from now on it quarantines what has that SHA-256, the matches
   * already held back included. Idempotent (the console repeats it until acknowledged).
   */
  witnessConsoleTask?(id: string): Promise<Task>;
  command(id: string, command: TaskCommand | 'show'): Promise<Task>;
  /** The browser's idle state (`report-idle`), one of the idle sources. */
  reportIdle(state: 'active' | 'idle' | 'locked'): void;
}

export interface TaskRunnerOptions {
  home: string;
  events: EventLog;
  log: Logger;
  clock: Clock;
  policy: Policy;
  quarantineObject: QuarantineContext['quarantineObject'];
  quarantineLimits?: QuarantineContext['quarantineLimits'];
  /** The OS's idle sources (default: logind on Linux); the browser's reports (`report-idle`) are always added. */
  idleSources?: IdleSource[];
  /** Critical-area collectors (default: this OS's) and a root prefix for them: test seams. */
  collectors?: CriticalAreaCollector[];
  collectorRoot?: string;
  /** Seams of the process, socket and service collectors. */
  systemObjects?: SystemObjectOptions;
  mounts?: MountTable;
  /** Files between checkpoints (default 500). */
  checkpointEvery?: number;
  /** Called after each checkpoint is on disk (tests). */
  onCheckpoint?: (task: Task) => void;
}


type StopReason = 'cancel' | 'pause' | 'closing' | 'idle-ended';
const STOP_RANK: Record<StopReason, number> = { cancel: 4, pause: 3, closing: 2, 'idle-ended': 1 };

const RECHECK_MS = 30_000;
const HOUSEKEEPING_MS = 6 * 3600_000;
const DAY_MS = 24 * 3600_000;
const MAX_ERRORS_KEPT = 100;
const MAX_MATCHES_KEPT = 1000;

interface Current {
  id: string;
  ctrl: AbortController;
  reason: StopReason | undefined;
  done: Promise<void>;
}

const zeroStats = (): ScanSummary => Object.fromEntries(Object.keys(scanSummarySchema.shape).map((k) => [k, 0])) as ScanSummary;

/**
 * Runs scan tasks in the agent, one at a time, oldest first: `afterThreat` tasks and tasks someone ran at once,
 * `idle` tasks while the screen is locked (paused when it is unlocked). Each run continues from the task's checkpoint,
 * so a pause, a policy reload, an agent restart or a crash costs at most the files since the last checkpoint. Matches
 * are written to the task before anything is done about them, and each action is idempotent.
 */
export class TaskRunner implements TaskService {
  private readonly o: TaskRunnerOptions;
  private readonly store: TaskStore;
  private readonly idle: IdleSource[];
  private readonly browserIdle = new ReportedIdleSource({ name: 'browser', ttlMs: 2 * 60_000 });
  private readonly checkpointEvery: number;
  private current: Current | undefined;
  private closed = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private idleWatch: Array<() => void> | undefined;
  private lastHousekeeping = 0;
  /** Console tasks witnessed while running: their held-back quarantines are re-armed at the next checkpoint. */
  private readonly witnessed = new Set<string>();
  /** Tasks whose held-back quarantines are being re-armed outside a run: not picked to run meanwhile. */
  private readonly rearming = new Set<string>();

  constructor(o: TaskRunnerOptions) {
    this.o = o;
    this.store = new TaskStore(o.home, o.events, () => o.clock.now());
    this.idle = [...(o.idleSources ?? defaultIdleSources()), this.browserIdle];
    this.checkpointEvery = Math.max(1, o.checkpointEvery ?? 500);
  }

  /** Loads the tasks (a task that was running was cut short: it continues from its checkpoint) and starts the loop. */
  async start(): Promise<void> {
    const now = this.o.clock.now();
    for (const t of this.store.load(now)) {
      if (t.state === 'running') await this.store.save(interrupted(t, now));
    }
    // A crash after a console task's witness was written to its guard, before its held-back quarantines were re-armed:
    // the guard is the durable word, so they are re-armed now.
    for (const t of this.store.list()) {
      const rearmed = readTaskGuard(join(this.store.dir, t.id))?.awaitingWitness === false ? rearmAwaitingWitness(t) : undefined;
      if (rearmed) await this.store.save(rearmed);
    }
    // A crash between recording a match and acting on it: the actions run now (each finds its own earlier work).
    for (const t of this.store.list()) {
      if (t.matches.some((m) => m.actions.some((a) => a.status === 'pending'))) await this.runMatchActions(t).catch((err: unknown) => this.o.log.warn('match actions failed', { taskId: t.id, error: String(err) }));
    }
    // Retention first, so a task past it is gone before anyone can list it.
    await this.housekeeping();
    this.loopDone = this.loop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopCurrent('closing');
    this.wakeUp?.();
    await this.loopDone;
    for (const off of this.idleWatch ?? []) off();
    for (const s of this.idle) s.close();
  }

  list(limit = 200): TaskSummary[] {
    return this.store.list().slice(0, limit).map(summarize);
  }

  get(id: string): Task {
    const t = this.store.get(id);
    if (!t) throw new SandgateError('TASK_NOT_FOUND', `no scan task ${id}`, { params: { id } });
    return t;
  }

  findByJob(jobId: string, kind: Task['kind']): Task | undefined {
    return this.store.findByJob(jobId, kind);
  }

  async create(input: CreateTaskInput): Promise<Task> {
    if (this.closed) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping');
    const files = input.iocs.map((f, i) => ({ name: storedIocName(i, f.source), bytes: f.bytes, source: f.source }));
    // Parsed with the original path, so an error names the file the person gave and its line.
    const plan = files.length ? compileIocFilesForThisHost(files.map((f) => ({ file: f.name, bytes: f.bytes, source: f.source }))) : undefined;
    const set = plan?.set;
    const now = this.o.clock.now().toISOString();
    const task: Task = {
      format: 1,
      id: newTaskId(),
      kind: input.kind,
      createdAt: now,
      updatedAt: now,
      createdBy: input.createdBy,
      ...(input.jobId ? { jobId: input.jobId } : {}),
      ...(input.parentTaskId ? { parentTaskId: input.parentTaskId } : {}),
      scope: input.scope,
      runMode: input.runMode,
      onMatch: input.onMatch,
      state: 'created',
      runRequested: input.runMode === 'afterThreat',
      iocFiles: files.map((f, i) => ({ name: f.name, iocId: plan!.files[i]!.id, source: f.source })),
      sha256: input.sha256 ?? [],
      unsupported: set ? set.unsupported.map((u) => ({ file: u.file, itemId: u.itemId, term: u.term, reason: u.reason })) : [],
      termCounts: set ? { ...set.termCounts } : { evaluated: input.sha256?.length ?? 0, unsupported: 0 },
      warnings: (set?.warnings ?? []).map((w) => ({ file: w.file, itemId: w.itemId, message: w.message })),
      progress: { rootIndex: 0, filesDone: 0, runs: 0 },
      stats: zeroStats(),
      matches: [],
      notExamined: [],
      errors: [],
      resumedAt: [],
    };
    const extra = input.guard ? [{ name: GUARD_FILE, bytes: new TextEncoder().encode(JSON.stringify(input.guard, null, 1) + '\n') }] : [];
    const what = task.kind === 'ioc' ? 'IOC scan task' : 'Critical Areas Scan';
    const created = taskEvent(
      'scan-task-created',
      task,
      `${what}, scope ${scopeText(task.scope)}, run mode ${task.runMode}; ${task.termCounts.evaluated} term(s) evaluated, ${task.termCounts.unsupported} cannot be evaluated here`,
    );
    const saved = await this.store.create(task, files, extra, [created]);
    this.wakeUp?.();
    return saved;
  }

  async createFromFiles(files: readonly string[], opts: Pick<CreateTaskInput, 'scope' | 'runMode' | 'onMatch'>): Promise<Task> {
    const iocs = [];
    for (const f of files) {
      if (!isAbsolute(f)) throw new SandgateError('PATH_INVALID', `${f}: an IOC file is named by its absolute path`, { params: { path: f } });
      try {
        iocs.push({ bytes: await readFile(f), source: f });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SandgateError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `${f}: cannot read the IOC file (${code})`, { params: { path: f } });
      }
    }
    if (Array.isArray(opts.scope)) {
      for (const p of opts.scope) if (!isAbsolute(p)) throw new SandgateError('PATH_INVALID', `${p}: a scope path must be absolute`, { params: { path: p } });
    }
    return this.create({ kind: 'ioc', createdBy: 'cli', ...opts, iocs });
  }

  async createFromConsole(input: ConsoleTaskInput): Promise<Task> {
    if (Array.isArray(input.scope)) {
      for (const p of input.scope) if (!isAbsolute(p)) throw new SandgateError('PATH_INVALID', `${p}: a scope path must be absolute`, { params: { path: p } });
    }
    return this.create({
      kind: 'ioc',
      createdBy: 'console',
      scope: input.scope,
      runMode: input.runMode,
      onMatch: input.onMatch,
      iocs: [{ bytes: new TextEncoder().encode(input.ioc.xml), source: input.ioc.source }],
      guard: input.guard,
    });
  }

  async witnessConsoleTask(id: string): Promise<Task> {
    if (this.closed) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping');
    this.get(id);
    const dir = join(this.store.dir, id);
    const guard = readTaskGuard(dir);
    if (!guard) throw new SandgateError('TASK_STATE_CONFLICT', `task ${id} is not a console group task`, { params: { id } });
    if (guard.awaitingWitness !== false) await writeWitnessedGuard(dir, guard);
    // The running task holds its record in memory: it re-arms at its next checkpoint (or right after the run).
    if (this.current?.id === id) this.witnessed.add(id);
    else await this.rearm(id);
    return this.get(id);
  }

  /** The held-back quarantines of a task that is not running, re-armed and acted on now. */
  private async rearm(id: string): Promise<void> {
    this.rearming.add(id);
    try {
      const t = rearmAwaitingWitness(this.get(id));
      if (t) await this.runMatchActions(await this.store.save({ ...t, updatedAt: this.o.clock.now().toISOString() }));
    } finally {
      this.rearming.delete(id);
      // It may have been passed over by a pick meanwhile.
      this.wakeUp?.();
    }
  }

  async command(id: string, command: TaskCommand | 'show'): Promise<Task> {
    const t = this.get(id);
    if (command === 'show') return t;
    // A runner being replaced (policy reload) must not write behind its successor's back.
    if (this.closed) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping');
    const cur = this.current;
    if (cur?.id === id) {
      if (command === 'run') return t;
      if (command === 'resume') throw new SandgateError('TASK_STATE_CONFLICT', `task ${id} is running; nothing to resume`, { params: { id, state: t.state } });
      this.stopCurrent(command === 'cancel' ? 'cancel' : 'pause');
      await cur.done;
      return this.get(id);
    }
    const next = applyCommand(t, command, this.o.clock.now());
    if (next === t) return t;
    const events =
      command === 'pause'
        ? [taskEvent('scan-task-paused', next, 'paused by a person; continues after `sandgate ioc task resume`')]
        : command === 'cancel'
          ? [taskEvent('scan-task-cancelled', next, 'cancelled by a person; its results are kept')]
          : [];
    const saved = await this.store.save(next, events);
    this.wakeUp?.();
    return saved;
  }

  reportIdle(state: 'active' | 'idle' | 'locked'): void {
    this.browserIdle.set(state);
  }

  private stopCurrent(reason: StopReason): void {
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
        this.o.log.error('task runner fault', { error: err instanceof Error ? err.message : String(err) });
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
    const waiting = this.store.list().filter((t) => !isFinished(t) && !this.rearming.has(t.id)).reverse();
    const wantsIdle = waiting.some((t) => t.runMode === 'idle' && !t.runRequested && t.pauseReason !== 'user');
    if (wantsIdle && !this.idleWatch) this.idleWatch = this.idle.map((s) => s.onChange(() => this.wakeUp?.()));
    const locked = wantsIdle && screenLocked(this.idle);
    return waiting.find((t) => mayRun(t, locked));
  }

  private async housekeeping(): Promise<void> {
    const now = this.o.clock.now();
    if (now.getTime() - this.lastHousekeeping < HOUSEKEEPING_MS) return;
    this.lastHousekeeping = now.getTime();
    const keepMs = this.o.policy.response.iocScan.keepResultsDays * DAY_MS;
    for (const t of this.store.list()) {
      if (!isFinished(t) || !t.finishedAt || now.getTime() - Date.parse(t.finishedAt) < keepMs) continue;
      await this.store.remove(t.id);
      this.o.log.info('scan task removed after its retention period', { taskId: t.id, finishedAt: t.finishedAt });
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
          if (!screenLocked(this.idle)) this.stopCurrent('idle-ended');
        };
        for (const s of this.idle) offIdle.push(s.onChange(check));
      }
      // A failure here is the store's (a scan's own failure is recorded in the task): the loop waits before retrying.
      await this.execute(task, cur);
    } finally {
      for (const off of offIdle) off();
      this.current = undefined;
      finish();
    }
    // Witnessed after the run's last checkpoint: re-armed now that the record is no longer held by the run.
    if (this.witnessed.delete(task.id)) await this.rearm(task.id).catch((err: unknown) => this.o.log.warn('held-back quarantines could not be re-armed', { taskId: task.id, error: String(err) }));
  }

  private async execute(task: Task, cur: Current): Promise<void> {
    const nowIso = () => this.o.clock.now().toISOString();
    const resumed = task.progress.runs > 0;
    const mounts = this.o.mounts ?? MountTable.read();
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
        notExamined = [...notExamined, ...sys.left.map((m) => ({ area: 'system', what: m.path, reason: `${m.fsType}: not a local disk filesystem (virtual, network or image), not scanned` }))];
      }
      scope = progress.roots;
    } else {
      scope = task.scope;
      if (progress.total === undefined) progress.total = await countFiles(scope, [this.o.home], mounts, cur.ctrl.signal);
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
      : taskEvent('scan-task-started', running, `${running.kind === 'ioc' ? 'IOC scan' : 'Critical Areas Scan'} of ${scopeText(running.scope)} started`);
    let t = await this.store.save(running, [startEvent]);
    // The screen may have been unlocked between the pick and now.
    if (t.runMode === 'idle' && !t.runRequested && !screenLocked(this.idle)) this.stopCurrent('idle-ended');

    try {
      const indicators = await this.indicatorsFor(t);
      const base = { stats: t.stats, filesDone: t.progress.filesDone, matchesSeen: 0, errorsSeen: 0 };
      const result = await runTaskScan({
        scope,
        position: { rootIndex: t.progress.rootIndex, lastPath: t.progress.lastPath },
        indicators,
        maxFileBytes: this.o.policy.scan.maxFileBytes,
        cpuBudgetPercent: this.o.policy.scan.cpuBudgetPercent,
        exclude: [this.o.home],
        mounts,
        collectors: this.o.collectors ?? defaultCollectors(),
        ...(this.o.collectorRoot ? { collectorRoot: this.o.collectorRoot } : {}),
        ...(this.o.systemObjects ? { systemObjects: this.o.systemObjects } : {}),
        signal: cur.ctrl.signal,
        checkpointEvery: this.checkpointEvery,
        checkpoint: async (pos, session) => {
          t = await this.checkpoint(t, base, pos, session);
          // A report that expired says nothing when it does: the lock is checked again at every checkpoint.
          if (t.runMode === 'idle' && !t.runRequested && !screenLocked(this.idle)) this.stopCurrent('idle-ended');
        },
      });
      if (result.outcome === 'completed') {
        const done: Task = { ...t, state: 'completed', finishedAt: nowIso(), updatedAt: nowIso() };
        const summary = `${done.stats.filesSeen} object(s) checked, ${done.stats.hashed} read, ${done.matches.length} match(es), ${done.termCounts.unsupported} term(s) not evaluable here`;
        t = await this.store.save(done, [taskEvent('scan-task-completed', done, summary)]);
        return;
      }
      const reason = cur.reason ?? 'closing';
      if (reason === 'cancel') {
        const cancelled: Task = { ...t, state: 'cancelled', finishedAt: nowIso(), updatedAt: nowIso() };
        t = await this.store.save(cancelled, [taskEvent('scan-task-cancelled', cancelled, `cancelled by a person after ${cancelled.progress.filesDone} file(s); its results are kept`)]);
        return;
      }
      const pauseReason = reason === 'pause' ? 'user' : reason === 'idle-ended' ? 'idle-ended' : 'interrupted';
      const why = {
        user: 'paused by a person; continues after `sandgate ioc task resume`',
        'idle-ended': 'the screen was unlocked; continues when it is locked again',
        interrupted: 'the agent is stopping; continues from its checkpoint when it runs again',
      }[pauseReason];
      const paused: Task = { ...t, state: 'paused', pauseReason, updatedAt: nowIso() };
      t = await this.store.save(paused, [taskEvent('scan-task-paused', paused, `${why} (${paused.progress.filesDone} file(s) done)`)]);
    } catch (err) {
      const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
      const failed: Task = { ...t, state: 'failed', error: { code: e.code, message: e.message }, finishedAt: nowIso(), updatedAt: nowIso() };
      t = await this.store.save(failed, [taskEvent('scan-task-failed', failed, e.message, e.code)]);
    }
  }

  /** Progress, counters and new matches on disk; then what the policy says to do about the matches. */
  private async checkpoint(t: Task, base: { stats: ScanSummary; filesDone: number; matchesSeen: number; errorsSeen: number }, pos: WalkPosition, session: ScanSession): Promise<Task> {
    const c = session.counters;
    const stats = Object.fromEntries(Object.keys(scanSummarySchema.shape).map((k) => [k, base.stats[k as keyof ScanSummary] + c[k as keyof ScanSummary]])) as ScanSummary;
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
      fresh.push({ ...m, foundAt: this.o.clock.now().toISOString(), actions });
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
    const rearmed = this.witnessed.delete(t.id) ? rearmAwaitingWitness(t) : undefined;
    t = await this.store.save(
      {
        ...(rearmed ?? t),
        progress: { ...progress, rootIndex: pos.rootIndex, ...(pos.lastPath ? { lastPath: pos.lastPath } : {}), filesDone: base.filesDone + c.filesSeen },
        stats,
        matches: [...(rearmed ?? t).matches, ...fresh],
        notExamined: notes,
        errors: [...t.errors, ...newErrors].slice(0, MAX_ERRORS_KEPT),
        updatedAt: this.o.clock.now().toISOString(),
      },
      matchEvents,
    );
    if (rearmed || fresh.some((m) => m.actions.length)) t = await this.runMatchActions(t);
    this.o.onCheckpoint?.(t);
    return t;
  }

  /** Every pending action of every match, each saved as soon as it is done. */
  private async runMatchActions(t: Task): Promise<Task> {
    const ctx: QuarantineContext = {
      home: this.o.home,
      events: this.o.events,
      log: this.o.log,
      clock: this.o.clock,
      quarantineObject: this.o.quarantineObject,
      ...(this.o.quarantineLimits ? { quarantineLimits: this.o.quarantineLimits } : {}),
    };
    for (let i = 0; i < t.matches.length; i++) {
      for (let j = 0; j < t.matches[i]!.actions.length; j++) {
        const match = t.matches[i]!;
        if (match.actions[j]!.status !== 'pending') continue;
        let done: TaskMatch['actions'][number];
        let casId: string | undefined;
        if (match.actions[j]!.type === 'quarantine') {
          const onPublisherRefused = (reason: string) => this.o.log.info('not exempted by the never-quarantine publishers', { taskId: t.id, path: match.path, reason });
          const d = await guardDecision(readTaskGuard(join(this.store.dir, t.id)), match, { onPublisherRefused, allowSha256: this.o.policy.response.allowSha256 });
          done = d ? skippedByGuard(d) : await quarantineMatch(ctx, t, match);
        } else {
          casId = await this.criticalAreasScanFor(t, match);
          done = { type: 'critical-areas-scan', status: 'done', id: casId };
        }
        const actions = match.actions.map((a, k) => (k === j ? done : a));
        t = await this.store.save(
          {
            ...t,
            matches: t.matches.map((m, k) => (k === i ? { ...m, actions } : m)),
            ...(casId ? { criticalAreasScanTaskId: casId } : {}),
            updatedAt: this.o.clock.now().toISOString(),
          },
          matchActionEvents(t, match, done),
        );
      }
    }
    return t;
  }

  /** One Critical Areas Scan per task, after its first match; found again if a crash came between creating and recording it. */
  private async criticalAreasScanFor(t: Task, match: TaskMatch): Promise<string> {
    if (t.criticalAreasScanTaskId) return t.criticalAreasScanTaskId;
    const earlier = this.store.list().find((x) => x.kind === 'critical-areas' && x.parentTaskId === t.id);
    if (earlier) return earlier.id;
    const cas = await this.create({
      kind: 'critical-areas',
      createdBy: 'task',
      parentTaskId: t.id,
      scope: 'critical',
      runMode: 'afterThreat',
      onMatch: { quarantine: false, criticalAreasScan: false },
      iocs: [],
      ...(match.sha256 ? { sha256: [match.sha256] } : {}),
    });
    return cas.id;
  }

  /**
   * An IOC task: its own IOC files. A Critical Areas Scan: every SHA-256 judged malicious so far (the finished jobs,
   * plus the object that triggered it, whose job may not be committed yet) and the IOCs of every task still active.
   */
  private async indicatorsFor(t: Task): Promise<Array<{ set: IndicatorSet; source: IndicatorSource }>> {
    const sets: Array<{ set: IndicatorSet; source: IndicatorSource }> = [];
    if (t.iocFiles.length) sets.push({ set: compileTaskIocs(join(this.store.dir, t.id, IOC_DIR)), source: 'ioc' });
    const extra: KnownBadHash[] = t.sha256.map((sha256) => ({ sha256, jobId: t.jobId ?? t.id, path: '(the object that started this scan)', judgedBy: t.jobId ? `job ${t.jobId}` : `task ${t.parentTaskId ?? t.id}` }));
    if (t.kind === 'critical-areas') {
      const journal = join(this.o.home, 'jobs', 'finished.jsonl');
      const all = [...extra, ...(await readKnownBadHashes(journal))];
      sets.push({ set: new KnownBadHashes(all, journal), source: 'verdict' });
      const onError = (taskId: string, err: unknown) => this.o.log.warn('the IOCs of an active task could not be compiled', { taskId, error: String(err) });
      for (const set of activeTaskIndicators(this.store.dir, this.store.list(), onError, t.id)) sets.push({ set, source: 'ioc' });
    } else if (extra.length) sets.push({ set: new KnownBadHashes(extra, `task ${t.id}`), source: 'verdict' });
    return sets;
  }
}

const GUARD_MESSAGE = {
  'dry-run': 'dry run: would be quarantined (the console group task acts on nothing)',
  'never-quarantine': 'on the group\'s never-quarantine list: reported, not quarantined',
} as const;

/** Console-task refusals the report tells apart by their code. */
const GUARD_CODED = {
  'not-the-object': { code: NOT_THE_OBJECT, message: "its SHA-256, computed while reading it, is not the group task's object: reported, never quarantined" },
  'awaiting-witness': { code: AWAITING_WITNESS, message: 'the object of the group task: quarantined once the console has a second witness' },
} as const;

/** A publisher's keep carries a code, so the report can say "kept" without reading the file's signature again. */
function skippedByGuard(d: GuardDecision): TaskMatch['actions'][number] {
  if (d.why === 'never-quarantine' && d.rule === 'publisher') {
    return { type: 'quarantine', status: 'skipped', code: NEVER_QUARANTINE_PUBLISHER, message: `signed by ${JSON.stringify(d.publisher)}, a never-quarantine publisher of the group: reported, not quarantined` };
  }
  if (d.why === 'never-quarantine' && d.rule === 'allowed') {
    return { type: 'quarantine', status: 'skipped', code: ALLOWED_FALSE_POSITIVE, message: 'a known false positive (response.allowSha256): reported, not quarantined' };
  }
  if (d.why === 'not-the-object' || d.why === 'awaiting-witness') return { type: 'quarantine', status: 'skipped', ...GUARD_CODED[d.why] };
  return { type: 'quarantine', status: 'skipped', message: GUARD_MESSAGE[d.why] };
}

function withoutPause(t: Task): Task {
  const { pauseReason: _, ...rest } = t;
  return rest;
}

function matchKey(m: { path: string; iocId: string; origin?: string | undefined; pid?: number | undefined }): string {
  return `${m.path}\0${m.iocId}\0${m.origin ?? ''}\0${m.pid ?? ''}`;
}

export function scopeText(scope: Task['scope']): string {
  return Array.isArray(scope) ? scope.join(', ') : scope;
}

/** Files in a PATH scope, counted before the first run so progress can say "n of N" (a walk, nothing read). */
async function countFiles(roots: readonly string[], exclude: readonly string[], mounts: MountTable, signal: AbortSignal): Promise<number | undefined> {
  const ex = exclude.map((p) => resolve(p));
  let n = 0;
  for (const root of roots) {
    for await (const ev of walkTree(root, { oneFilesystem: true, mounts, signal, skipDir: (p) => ex.some((x) => p === x || p.startsWith(x + '/')) })) if (ev.kind === 'file') n++;
  }
  // Stopped while counting: counted again next run rather than recorded short.
  return signal.aborted ? undefined : n;
}

type TaskEventType = 'scan-task-created' | 'scan-task-started' | 'scan-task-paused' | 'scan-task-resumed' | 'scan-task-completed' | 'scan-task-failed' | 'scan-task-cancelled';

/** A task's event, recorded with the change it reports (TaskStore.save). */
function taskEvent(type: TaskEventType, t: Task, message: string, code?: string): NewAgentEvent {
  return { type, taskId: t.id, ...(t.jobId ? { jobId: t.jobId } : {}), ...(code ? { code } : {}), message };
}
