import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { SandgateError, scanSummarySchema, type Policy, type ScanSummary, type Task, type TaskSummary } from '@sandgate/shared';
import { QuarantineStore } from '../quarantine/quarantine-store.ts';
import type { QuarantineContext } from '../quarantine/quarantine-context.ts';
import type { Clock } from '../clock.ts';
import type { EventLog } from '../events/event-log.ts';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import type { Logger } from '../log.ts';
import type { CriticalAreaCollector } from '../scan/critical-areas/collector.ts';
import { KnownBadHashes, readKnownBadHashes, type KnownBadHash } from '../scan/known-bad-hashes.ts';
import type { MountTable } from '../scan/mount-table.ts';
import type { SystemObjectOptions } from '../scan/system-objects/linux-system-objects.ts';
import type { IndicatorSource } from '../scan/scan-session.ts';
import { ReportedIdleSource, defaultIdleSources, type IdleSource } from './idle-source.ts';
import { runMatchActions } from './match-action-runner.ts';
import { scopeText, taskEvent } from './task-events.ts';
import { TaskScheduler } from './task-scheduler.ts';
import type { ConsoleTaskInput, CreateTaskInput, TaskService } from './task-service.ts';
import { applyCommand, interrupted, type TaskCommand } from './task-state.ts';
import { GUARD_FILE, readTaskGuard, writeWitnessedGuard } from './task-guard.ts';
import { rearmAwaitingWitness } from './witness-rearm.ts';
import { IOC_DIR, TaskStore, newTaskId, summarize } from './task-store.ts';

export interface TaskRunnerOptions {
  home: string;
  events: EventLog;
  log: Logger;
  clock: Clock;
  policy: Policy;
  quarantineObject: QuarantineContext['quarantineObject'];
  /** The home's quarantine (default: opened here on the same event log). */
  quarantineStore?: QuarantineStore;
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

const zeroStats = (): ScanSummary => Object.fromEntries(Object.keys(scanSummarySchema.shape).map((k) => [k, 0])) as ScanSummary;

/**
 * The agent's scan tasks: created from three sources (a response action, `sandgate ioc task create`, a console group
 * task), commanded (run, pause, resume, cancel), witnessed by the console, and handed to the scheduler
 * (task-scheduler.ts), which runs them one at a time (task-execution.ts). Each run continues from the task's
 * checkpoint, so a pause, a policy reload, an agent restart or a crash costs at most the files since the last
 * checkpoint. Matches are written to the task before anything is done about them (match-action-runner.ts), and each
 * action is idempotent.
 *
 * Past 300 lines because task creation (three sources, one record) and commands (run, pause, resume, cancel, the
 * console's witness) all change the same stored task and wake the same scheduler; how tasks run lives elsewhere.
 */
export class TaskRunner implements TaskService {
  private readonly o: TaskRunnerOptions;
  private readonly store: TaskStore;
  private readonly idle: IdleSource[];
  private readonly browserIdle = new ReportedIdleSource({ name: 'browser', ttlMs: 2 * 60_000 });
  private readonly scheduler: TaskScheduler;
  private readonly quarantine: QuarantineContext;
  private closed = false;
  /** Console tasks witnessed while running: their held-back quarantines are re-armed at the next checkpoint. */
  private readonly witnessed = new Set<string>();
  /** Tasks whose held-back quarantines are being re-armed outside a run: not picked to run meanwhile. */
  private readonly rearming = new Set<string>();

  constructor(o: TaskRunnerOptions) {
    this.o = o;
    this.store = new TaskStore(o.home, o.events, () => o.clock.now());
    this.idle = [...(o.idleSources ?? defaultIdleSources()), this.browserIdle];
    this.quarantine = {
      home: o.home,
      events: o.events,
      log: o.log,
      clock: o.clock,
      quarantineStore: o.quarantineStore ?? QuarantineStore.open(o.home, { events: o.events }),
      quarantineObject: o.quarantineObject,
      ...(o.quarantineLimits ? { quarantineLimits: o.quarantineLimits } : {}),
    };
    const checkpointEvery = Math.max(1, o.checkpointEvery ?? 500);
    this.scheduler = new TaskScheduler({
      store: this.store,
      idle: this.idle,
      log: o.log,
      clock: o.clock,
      keepResultsDays: o.policy.response.iocScan.keepResultsDays,
      // The scan engine (walk, collectors, IOC compilers, YARA) loads with the first task that runs or is made, not with
      // the agent: an idle agent on most workstations never scans (docs/decisions.md, what the idle agent holds).
      execute: async (task, run) =>
        (await import('./task-execution.ts')).executeTask(
          {
            home: o.home,
            policy: o.policy,
            clock: o.clock,
            store: this.store,
            mounts: o.mounts,
            collectors: o.collectors,
            collectorRoot: o.collectorRoot,
            systemObjects: o.systemObjects,
            checkpointEvery,
            onCheckpoint: o.onCheckpoint,
            indicatorsFor: (t) => this.indicatorsFor(t),
            matchActions: (t) => this.runMatchActions(t),
            takeWitness: (id) => this.witnessed.delete(id),
          },
          task,
          run,
        ),
      // Witnessed after the run's last checkpoint: re-armed now that the record is no longer held by the run.
      afterRun: async (id) => {
        if (this.witnessed.delete(id))
          await this.rearm(id).catch((err: unknown) =>
            o.log.warn('held-back quarantines could not be re-armed', { taskId: id, error: String(err) }),
          );
      },
      busy: (id) => this.rearming.has(id),
    });
  }

  private runMatchActions(t: Task): Promise<Task> {
    return runMatchActions(
      {
        store: this.store,
        quarantine: this.quarantine,
        log: this.o.log,
        allowSha256: this.o.policy.response.allowSha256,
        create: (input) => this.create(input),
      },
      t,
    );
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
      if (t.matches.some((m) => m.actions.some((a) => a.status === 'pending')))
        await this.runMatchActions(t).catch((err: unknown) =>
          this.o.log.warn('match actions failed', { taskId: t.id, error: String(err) }),
        );
    }
    await this.scheduler.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.close();
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
    const { storedIocName } = await import('./compile-task-iocs.ts');
    const files = input.iocs.map((f, i) => ({ name: storedIocName(i, f.source), bytes: f.bytes, source: f.source }));
    // Parsed with the original path, so an error names the file the person gave and its line.
    const plan = files.length
      ? (await import('../scan/host-term-limits.ts')).compileIocFilesForThisHost(
          files.map((f) => ({ file: f.name, bytes: f.bytes, source: f.source })),
        )
      : undefined;
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
    this.scheduler.wake();
    return saved;
  }

  async createFromFiles(files: readonly string[], opts: Pick<CreateTaskInput, 'scope' | 'runMode' | 'onMatch'>): Promise<Task> {
    const iocs = [];
    for (const f of files) {
      if (!isAbsolute(f))
        throw new SandgateError('PATH_INVALID', `${f}: an IOC file is named by its absolute path`, { params: { path: f } });
      try {
        iocs.push({ bytes: await readFile(f), source: f });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SandgateError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `${f}: cannot read the IOC file (${code})`, {
          params: { path: f },
        });
      }
    }
    if (Array.isArray(opts.scope)) {
      for (const p of opts.scope)
        if (!isAbsolute(p)) throw new SandgateError('PATH_INVALID', `${p}: a scope path must be absolute`, { params: { path: p } });
    }
    return this.create({ kind: 'ioc', createdBy: 'cli', ...opts, iocs });
  }

  async createFromConsole(input: ConsoleTaskInput): Promise<Task> {
    if (Array.isArray(input.scope)) {
      for (const p of input.scope)
        if (!isAbsolute(p)) throw new SandgateError('PATH_INVALID', `${p}: a scope path must be absolute`, { params: { path: p } });
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
    if (this.scheduler.running()?.id === id) this.witnessed.add(id);
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
      this.scheduler.wake();
    }
  }

  async command(id: string, command: TaskCommand | 'show'): Promise<Task> {
    const t = this.get(id);
    if (command === 'show') return t;
    // A runner being replaced (policy reload) must not write behind its successor's back.
    if (this.closed) throw new SandgateError('AGENT_UNAVAILABLE', 'The agent is stopping');
    const cur = this.scheduler.running();
    if (cur?.id === id) {
      if (command === 'run') return t;
      if (command === 'resume')
        throw new SandgateError('TASK_STATE_CONFLICT', `task ${id} is running; nothing to resume`, { params: { id, state: t.state } });
      this.scheduler.stop(command === 'cancel' ? 'cancel' : 'pause');
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
    this.scheduler.wake();
    return saved;
  }

  reportIdle(state: 'active' | 'idle' | 'locked'): void {
    this.browserIdle.set(state);
  }

  /**
   * An IOC task: its own IOC files. A Critical Areas Scan: every SHA-256 judged malicious so far (the finished jobs,
   * plus the object that triggered it, whose job may not be committed yet) and the IOCs of every task still active.
   */
  private async indicatorsFor(t: Task): Promise<Array<{ set: IndicatorSet; source: IndicatorSource }>> {
    const sets: Array<{ set: IndicatorSet; source: IndicatorSource }> = [];
    const { compileTaskIocs } = await import('./compile-task-iocs.ts');
    const { activeTaskIndicators } = await import('./active-task-iocs.ts');
    if (t.iocFiles.length) sets.push({ set: compileTaskIocs(join(this.store.dir, t.id, IOC_DIR)), source: 'ioc' });
    const extra: KnownBadHash[] = t.sha256.map((sha256) => ({
      sha256,
      jobId: t.jobId ?? t.id,
      path: '(the object that started this scan)',
      judgedBy: t.jobId ? `job ${t.jobId}` : `task ${t.parentTaskId ?? t.id}`,
    }));
    if (t.kind === 'critical-areas') {
      const journal = join(this.o.home, 'jobs', 'finished.jsonl');
      const all = [...extra, ...(await readKnownBadHashes(journal))];
      sets.push({ set: new KnownBadHashes(all, journal), source: 'verdict' });
      const onError = (taskId: string, err: unknown) =>
        this.o.log.warn('the IOCs of an active task could not be compiled', { taskId, error: String(err) });
      for (const set of activeTaskIndicators(this.store.dir, this.store.list(), onError, t.id)) sets.push({ set, source: 'ioc' });
    } else if (extra.length) sets.push({ set: new KnownBadHashes(extra, `task ${t.id}`), source: 'verdict' });
    return sets;
  }
}
