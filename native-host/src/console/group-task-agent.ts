import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { lazySchema } from '@sandgate/shared';
import { SandgateError, type ConsoleTask, type IocScanTask, type Task, type TaskProgress } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { writeFileAtomic } from '@sandgate/shared/durable-write';
import type { TaskService } from '../tasks/task-service.ts';
import {
  ALLOWED_FALSE_POSITIVE,
  AWAITING_WITNESS,
  NEVER_QUARANTINE_PUBLISHER,
  NOT_THE_OBJECT,
  expandHome,
  listDecision,
  type TaskGuard,
} from '../tasks/task-guard.ts';
import { isFinished } from '../tasks/task-state.ts';
import { consoleDir } from './console-files.ts';

/** What the agent remembers of each group task share it was given: which local task runs it, and what it last told. */
const entrySchema = lazySchema(() =>
  z.object({
    localTaskId: z.string().optional(),
    groupTaskId: z.string(),
    guard: z.object({
      dryRun: z.boolean(),
      neverQuarantine: z.object({
        paths: z.array(z.string()),
        sha256: z.array(z.string()),
        // Absent from state files written before publishers existed.
        publishers: z.array(z.object({ name: z.string(), caSha256: z.array(z.string()) })).default([]),
      }),
      // Absent from state files written before issue 14 (their tasks quarantine nothing).
      objectSha256: z.string().optional(),
      awaitingWitness: z.boolean().optional(),
      // An operator's hunt (issue 18): any hashed match may be quarantined once witnessed.
      hunt: z.boolean().optional(),
    }),
    /** The last progress the console acknowledged (JSON), so only changes are sent. */
    reported: z.string().optional(),
    /** The console has the share's final state: nothing more to say. */
    closed: z.boolean().default(false),
    /** A state to report without a local task (expired before it started, cancelled before it existed). */
    fixedState: z.enum(['expired', 'cancelled', 'failed']).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  }),
);
type Entry = z.infer<typeof entrySchema>;
const stateSchema = lazySchema(() => z.object({ agentId: z.string(), tasks: z.record(z.string(), entrySchema) }));

const FINAL = new Set<TaskProgress['state']>(['done', 'failed', 'cancelled', 'expired']);

export interface GroupTaskAgentOptions {
  home: string;
  agentId: string;
  log: Logger;
  /** Sends one progress report; throws when the console cannot be reached (retried at the next round). */
  report: (p: TaskProgress) => Promise<void>;
  /** The local task service of the agent in force; undefined while it is being replaced. */
  tasks: () => TaskService | undefined;
}

/**
 * The agent's side of console group tasks: turns each share it receives into a local IOC scan task (with the group's
 * dry-run and never-quarantine limits as the task's guard), cancels on request, and reports each change of state and
 * matches back. Its memory (`console/group-tasks.json`) survives restarts, so a share is never started twice and a
 * report lost while the console was away is sent again.
 *
 * One file for receiving, witnessing, cancelling and reporting a share: all four read and write the same remembered
 * state, and the exactly-once rules between them are easier to check side by side.
 */
export class GroupTaskAgent {
  private readonly o: GroupTaskAgentOptions;
  private readonly file: string;
  private readonly tasks: () => TaskService | undefined;
  private entries: Record<string, Entry>;
  private saving: Promise<void> = Promise.resolve();

  constructor(o: GroupTaskAgentOptions) {
    this.o = o;
    this.file = join(consoleDir(o.home), 'group-tasks.json');
    this.tasks = o.tasks;
    this.entries = this.load();
  }

  private load(): Record<string, Entry> {
    try {
      const s = stateSchema.parse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (s.agentId === this.o.agentId) return s.tasks;
    } catch {
      // none yet, or unreadable: shares the console still has pending come again with the next poll
    }
    return {};
  }

  private save(): Promise<void> {
    const text = JSON.stringify({ agentId: this.o.agentId, tasks: this.entries }) + '\n';
    this.saving = this.saving.then(() => writeFileAtomic(this.file, text, 0o600));
    return this.saving;
  }

  /** Whether some share still has something to report (the caller keeps the report timer running). */
  get busy(): boolean {
    return Object.values(this.entries).some((e) => !e.closed);
  }

  /** The tasks of one poll answer. Throws (the poll loop backs off and asks again) when a share cannot be started now. */
  async handle(list: readonly ConsoleTask[]): Promise<void> {
    for (const t of list) {
      if (t.type === 'ioc-scan') await this.start(t);
      else if (t.type === 'cancel') await this.cancel(t.taskId);
      else if (t.type === 'witnessed') await this.witness(t.taskId);
      else this.o.log.warn('a console task type this agent does not run yet', { type: t.type, id: t.id });
    }
  }

  private async start(t: IocScanTask): Promise<void> {
    const known = this.entries[t.id];
    if (known) {
      // Re-delivered: our acknowledgement was lost (and the task may have been witnessed since). Say again where it is.
      if (t.witnessed && known.guard.awaitingWitness !== false) return this.witness(t.id);
      known.reported = undefined;
      known.closed = false;
      await this.reportOne(t.id, known);
      return;
    }
    const neverQuarantine = {
      paths: t.neverQuarantine.paths.map((p) => expandHome(p)),
      sha256: t.neverQuarantine.sha256.map((h) => h.toLowerCase()),
      publishers: t.neverQuarantine.publishers.map((p) => ({ name: p.name, caSha256: p.caSha256.map((h) => h.toLowerCase()) })),
    };
    // The object's SHA-256 is the only content the local task may quarantine, and only once the console has a witness.
    // An operator's hunt has no object: any hashed file it matches, once another operator approved it (`witnessed`).
    const entry: Entry = {
      groupTaskId: t.groupTaskId,
      guard: {
        dryRun: t.dryRun,
        neverQuarantine,
        objectSha256: t.sha256,
        awaitingWitness: !t.witnessed,
        ...(t.hunt ? { hunt: true } : {}),
      },
      closed: false,
    };
    if (Date.parse(t.expiresAt) <= Date.now()) {
      entry.fixedState = 'expired';
    } else {
      const service = this.tasks();
      if (!service?.createFromConsole)
        throw new SandgateError('AGENT_UNAVAILABLE', 'the scan tasks are not running yet (the agent is starting or reloading its policy)');
      const guard: TaskGuard = { source: 'console', consoleTaskId: t.id, groupTaskId: t.groupTaskId, ...entry.guard };
      try {
        const local = await service.createFromConsole({
          // The agent parses the text itself (format by content), whatever the console found in it.
          ioc: { xml: t.ioc, source: t.hunt ? `console-hunt-${t.sha256.slice(0, 16)}` : `console-${t.sha256.slice(0, 16)}.ioc` },
          scope: Array.isArray(t.scope) ? t.scope.map((p) => expandHome(p)) : t.scope,
          runMode: t.runMode,
          onMatch: t.onMatch,
          guard,
        });
        entry.localTaskId = local.id;
        this.o.log.info('group task received; local scan task created', {
          consoleTaskId: t.id,
          groupTaskId: t.groupTaskId,
          taskId: local.id,
          dryRun: t.dryRun,
        });
      } catch (err) {
        const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', err instanceof Error ? err.message : String(err));
        if (e.code === 'AGENT_UNAVAILABLE') throw e;
        // The task itself is unusable here (an IOC that does not parse, a bad scope): the console hears why, once.
        entry.fixedState = 'failed';
        entry.error = { code: e.code, message: e.message.slice(0, 2000) };
      }
    }
    this.entries[t.id] = entry;
    await this.save();
    await this.reportOne(t.id, entry);
  }

  private async cancel(consoleTaskId: string): Promise<void> {
    let entry = this.entries[consoleTaskId];
    if (!entry) {
      entry = {
        groupTaskId: '',
        guard: { dryRun: true, neverQuarantine: { paths: [], sha256: [], publishers: [] } },
        closed: false,
        fixedState: 'cancelled',
      };
      this.entries[consoleTaskId] = entry;
    } else if (entry.localTaskId) {
      const service = this.tasks();
      if (!service) throw new SandgateError('AGENT_UNAVAILABLE', 'the scan tasks are not running yet');
      await service.command(entry.localTaskId, 'cancel').catch((err: unknown) => {
        // Finished before the cancel came: it reports how it finished.
        if (!(err instanceof SandgateError && (err.code === 'TASK_STATE_CONFLICT' || err.code === 'TASK_NOT_FOUND'))) throw err;
      });
      this.o.log.info('group task cancelled by the console', { consoleTaskId, taskId: entry.localTaskId });
    } else if (!entry.fixedState) entry.fixedState = 'cancelled';
    entry.reported = undefined;
    entry.closed = false;
    await this.save();
    await this.reportOne(consoleTaskId, entry);
  }

  /**
   * The console has a second witness for the share's object: the local task may now quarantine what has its SHA-256
   * (what it already found included). Acknowledged by the next report, which says `witnessed: true`.
   */
  private async witness(consoleTaskId: string): Promise<void> {
    let entry = this.entries[consoleTaskId];
    if (!entry) {
      // A share this agent has no memory of (its state was lost): say so, once, so the console stops asking.
      entry = {
        groupTaskId: '',
        guard: { dryRun: true, neverQuarantine: { paths: [], sha256: [], publishers: [] }, awaitingWitness: false },
        closed: false,
        fixedState: 'failed',
        error: { code: 'TASK_NOT_FOUND', message: 'this workstation has no record of the share' },
      };
      this.entries[consoleTaskId] = entry;
    } else if (entry.localTaskId && entry.guard.awaitingWitness !== false) {
      const service = this.tasks();
      if (!service?.witnessConsoleTask) throw new SandgateError('AGENT_UNAVAILABLE', 'the scan tasks are not running yet');
      await service.witnessConsoleTask(entry.localTaskId).then(
        () =>
          this.o.log.info('group task witnessed by the console; its object is quarantined from now on', {
            consoleTaskId,
            taskId: entry!.localTaskId,
          }),
        (err: unknown) => {
          // The local task is gone (retention) or is not a console task: the report says what it can, once.
          if (!(err instanceof SandgateError && (err.code === 'TASK_NOT_FOUND' || err.code === 'TASK_STATE_CONFLICT'))) throw err;
        },
      );
    }
    entry.guard.awaitingWitness = false;
    entry.reported = undefined;
    entry.closed = false;
    await this.save();
    await this.reportOne(consoleTaskId, entry);
  }

  /** Sends every share's progress that changed since it was last acknowledged. */
  async reportChanges(): Promise<void> {
    for (const [id, e] of Object.entries(this.entries)) if (!e.closed) await this.reportOne(id, e);
  }

  private async reportOne(id: string, e: Entry): Promise<void> {
    const p = this.progressOf(id, e);
    if (!p) return;
    const text = JSON.stringify(p);
    if (text === e.reported) return;
    try {
      await this.o.report(p);
    } catch (err) {
      // The console forgot the task (its data was reset): nothing more to say about it.
      if (err instanceof SandgateError && err.code === 'CONSOLE_NOT_FOUND') {
        e.closed = true;
        await this.save();
        return;
      }
      throw err;
    }
    e.reported = text;
    if (FINAL.has(p.state)) e.closed = true;
    await this.save();
  }

  private progressOf(id: string, e: Entry): TaskProgress | undefined {
    const witnessed = e.guard.awaitingWitness === false;
    if (e.fixedState)
      return { taskId: id, state: e.fixedState, matches: [], ...(e.error ? { error: e.error } : {}), ...(witnessed ? { witnessed } : {}) };
    const service = this.tasks();
    if (!service || !e.localTaskId) return undefined;
    let t: Task;
    try {
      t = service.get(e.localTaskId);
    } catch {
      return {
        taskId: id,
        state: 'failed',
        matches: [],
        error: { code: 'TASK_NOT_FOUND', message: `the local scan task ${e.localTaskId} is gone` },
      };
    }
    const guard: TaskGuard = { source: 'console', consoleTaskId: id, groupTaskId: e.groupTaskId, ...e.guard };
    const matches = t.matches.map((m) => {
      const q = m.actions.find((a) => a.type === 'quarantine');
      let action: TaskProgress['matches'][number]['action'] = 'reported';
      if (q?.status === 'done') action = 'quarantined';
      else if (q?.status === 'failed') action = 'failed';
      else if (q?.status === 'pending') action = 'pending';
      else if (q?.status === 'skipped') {
        // A publisher's or the allow list's keep, and the object and witness checks, were decided when it was skipped
        // (by code); the guard's lists are decided again.
        const why =
          q.code === NEVER_QUARANTINE_PUBLISHER || q.code === ALLOWED_FALSE_POSITIVE
            ? 'never-quarantine'
            : q.code === NOT_THE_OBJECT
              ? 'not-the-object'
              : q.code === AWAITING_WITNESS
                ? 'awaiting-witness'
                : listDecision(guard, m)?.why;
        action =
          why === 'dry-run'
            ? 'would-quarantine'
            : why === 'never-quarantine'
              ? 'kept-never-quarantine'
              : why === 'awaiting-witness'
                ? 'awaiting-witness'
                : 'reported';
      }
      return {
        path: m.path,
        ...(m.sha256 ? { sha256: m.sha256 } : {}),
        action,
        ...(q?.id ? { quarantineId: q.id } : {}),
        ...(q?.code ? { code: q.code } : {}),
      };
    });
    // Witnessed, a held-back match is about to be re-armed: the share is not done until it has been acted on.
    const actionsLeft = matches.some((m) => m.action === 'pending' || (witnessed && m.action === 'awaiting-witness'));
    const state: TaskProgress['state'] =
      t.state === 'completed'
        ? actionsLeft
          ? 'running'
          : 'done'
        : t.state === 'created'
          ? 'received'
          : isFinished(t)
            ? t.state === 'failed'
              ? 'failed'
              : 'cancelled'
            : t.state;
    return {
      taskId: id,
      state,
      ...(t.state === 'paused' && t.pauseReason ? { pauseReason: t.pauseReason } : {}),
      filesDone: t.progress.filesDone,
      matches: matches.slice(0, 1000),
      ...(t.error ? { error: t.error } : {}),
      // What this workstation cannot evaluate, so the console does not read "no match" as "checked, not there".
      unsupported: t.unsupported
        .slice(0, 100)
        .map((u) => ({ itemId: u.itemId.slice(0, 256), term: u.term.slice(0, 512), reason: u.reason.slice(0, 1000) })),
      termCounts: t.termCounts,
      ...(witnessed ? { witnessed } : {}),
    };
  }
}
