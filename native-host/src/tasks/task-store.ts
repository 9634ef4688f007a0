import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { taskSchema, type Task, type TaskSummary, byCodePoint } from '@sandgate/shared';
import { TEMP_PREFIX, fsyncDir, tempName, writeFileDurable, writeFileSynced } from '@sandgate/shared/durable-write';
import type { EventLog, NewAgentEvent } from '../events/event-log.ts';
import { EventOutbox, outboxEventSchema, type OutboxEvent } from '../events/event-outbox.ts';

export const TASK_FILE = 'task.json';
export const IOC_DIR = 'iocs';

export function tasksDir(home: string): string {
  return join(home, 'tasks');
}

export function newTaskId(): string {
  return randomBytes(8).toString('hex');
}

const isTaskId = (s: string) => /^[0-9a-f]{16}$/.test(s);

/**
 * What `task.json` holds besides the task: its events not yet surely in the event log (see EventOutbox), the log's
 * length when the task was created (its events all come after it) and the number of events it has had (their ids).
 */
const taskEventsSchema = z.object({
  logOffset: z.number().int().nonnegative().optional(),
  eventSeq: z.number().int().nonnegative().default(0),
  outbox: z.array(outboxEventSchema).max(10_000).default([]),
});
type TaskEvents = z.infer<typeof taskEventsSchema>;

/** Parses one task record; undefined when it is missing, not JSON or not a task. */
function readRecord(dir: string): Task | undefined {
  return readStored(dir)?.task;
}

function readStored(dir: string): { task: Task; events: TaskEvents } | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, TASK_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const r = taskSchema.safeParse(raw);
  if (!r.success) return undefined;
  const e = taskEventsSchema.safeParse(raw);
  return { task: r.data, events: e.success ? e.data : { eventSeq: 0, outbox: [] } };
}

/** A task for a list: without its long lists (`ioc task show` has them). */
export function summarize(t: Task): TaskSummary {
  const { matches, unsupported: _u, warnings: _w, notExamined: _n, errors: _e, ...rest } = t;
  return { ...rest, matchCount: matches.length };
}

/**
 * Tasks as stored, read-only (the CLI when no agent runs): nothing is created, moved or removed, so it cannot race
 * with an agent that is starting. Unreadable records are left out. Newest first.
 */
export function readStoredTasks(home: string): Task[] {
  const dir = tasksDir(home);
  if (!existsSync(dir)) return [];
  const tasks: Task[] = [];
  for (const name of readdirSync(dir)) {
    if (!isTaskId(name)) continue;
    const t = readRecord(join(dir, name));
    if (t && t.id === name) tasks.push(t);
  }
  return tasks.sort((a, b) => byCodePoint(b.createdAt, a.createdAt));
}

/**
 * The agent's tasks on disk: `tasks/<id>/task.json` (rewritten by temp file + rename + folder fsync) and
 * `tasks/<id>/iocs/` (the IOC files as they were when the task was created). A task folder appears whole or not at
 * all: it is assembled under a temp name and renamed into place. Only the agent writes here.
 */
export class TaskStore {
  readonly dir: string;
  private readonly events: EventLog;
  private readonly outbox: EventOutbox;
  private readonly tasks = new Map<string, Task>();
  private readonly taskEvents = new Map<string, TaskEvents>();

  private readonly now: () => Date;

  constructor(home: string, events: EventLog, now: () => Date = () => new Date()) {
    this.dir = tasksDir(home);
    this.events = events;
    this.outbox = new EventOutbox(events);
    this.now = now;
  }

  /** Reads every record: debris of an interrupted creation removed, unreadable records set aside with an event. */
  load(now: Date): Task[] {
    this.tasks.clear();
    this.taskEvents.clear();
    if (!existsSync(this.dir)) return [];
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        rmSync(join(this.dir, name), { recursive: true, force: true });
        continue;
      }
      if (!isTaskId(name)) continue;
      const stored = readStored(join(this.dir, name));
      if (stored && stored.task.id === name) {
        this.tasks.set(name, stored.task);
        this.taskEvents.set(name, stored.events);
      } else this.setAside(name, now);
    }
    // Events recorded with a change before a crash and perhaps not logged: written now, each once.
    const pending = [...this.taskEvents.values()].filter((e) => e.outbox.length);
    if (pending.length)
      this.outbox.recover(
        pending.flatMap((e) => e.outbox),
        Math.min(...pending.map((e) => e.logOffset ?? 0)),
      );
    return this.list();
  }

  private setAside(name: string, now: Date): void {
    const corrupt = join(this.dir, 'corrupt');
    mkdirSync(corrupt, { recursive: true, mode: 0o700 });
    const to = join(corrupt, `${name}-${now.getTime()}`);
    try {
      renameSync(join(this.dir, name), to);
    } catch {
      // left where it is; it is skipped again next time
    }
    this.events.append(
      { type: 'scan-task-corrupt', taskId: name, code: 'INTERNAL', message: `the record of task ${name} is unreadable; moved to ${to}` },
      now,
    );
  }

  list(): Task[] {
    return [...this.tasks.values()].sort((a, b) => byCodePoint(b.createdAt, a.createdAt) || byCodePoint(b.id, a.id));
  }

  get(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  findByJob(jobId: string, kind: Task['kind']): Task | undefined {
    return [...this.tasks.values()].find((t) => t.jobId === jobId && t.kind === kind && t.createdBy === 'policy');
  }

  iocFile(id: string, name: string): string {
    return join(this.dir, id, IOC_DIR, name);
  }

  /**
   * Rewrites a task's record with the events its change causes: both in one durable write, then the events are
   * logged, so a crash can lose neither and repeat none (EventOutbox).
   */
  async save(task: Task, events: readonly NewAgentEvent[] = []): Promise<Task> {
    const parsed = taskSchema.parse(task);
    const before = this.taskEvents.get(task.id) ?? { eventSeq: 0, outbox: [] };
    // The previous change's events were logged right after it was written; before the record stops vouching for them
    // they must also survive a power cut.
    if (before.outbox.length) {
      this.outbox.deliver(before.outbox);
      this.outbox.sync();
    }
    const next = this.withEvents(task.id, before, events);
    await writeFileDurable(join(this.dir, task.id), TASK_FILE, recordText(parsed, next));
    this.tasks.set(task.id, parsed);
    this.taskEvents.set(task.id, next);
    this.outbox.forget(before.outbox);
    this.outbox.deliver(next.outbox);
    return parsed;
  }

  /**
   * Writes a new task folder with its IOC files (and `extra` files beside the record), under a temp name first: a
   * crash leaves a whole task or none. `events` (its `scan-task-created`) are recorded with it and logged once it is.
   */
  async create(
    task: Task,
    iocs: ReadonlyArray<{ name: string; bytes: Uint8Array }>,
    extra: ReadonlyArray<{ name: string; bytes: Uint8Array }> = [],
    events: readonly NewAgentEvent[] = [],
  ): Promise<Task> {
    const parsed = taskSchema.parse(task);
    const meta = this.withEvents(task.id, { logOffset: this.events.size(), eventSeq: 0, outbox: [] }, events);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, tempName());
    await mkdir(join(tmp, IOC_DIR), { recursive: true, mode: 0o700 });
    try {
      for (const f of iocs) await writeFileSynced(join(tmp, IOC_DIR, f.name), Buffer.from(f.bytes));
      // Files that belong with the record from its first moment (a console task's guard).
      for (const f of extra) await writeFileSynced(join(tmp, f.name), Buffer.from(f.bytes));
      await writeFileSynced(join(tmp, TASK_FILE), recordText(parsed, meta));
      await fsyncDir(join(tmp, IOC_DIR));
      await fsyncDir(tmp);
      await rename(tmp, join(this.dir, task.id));
      await fsyncDir(this.dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    this.tasks.set(task.id, parsed);
    this.taskEvents.set(task.id, meta);
    this.outbox.deliver(meta.outbox);
    return parsed;
  }

  /** The task's next events, numbered on from what it has had (`task:<id>/<n>`), with the time they happen. */
  private withEvents(id: string, before: TaskEvents, events: readonly NewAgentEvent[]): TaskEvents {
    const now = this.now().toISOString();
    const outbox: OutboxEvent[] = events.map((e, i) => ({ ...e, time: now, eventId: `task:${id}/${before.eventSeq + i + 1}` }));
    return {
      ...(before.logOffset !== undefined ? { logOffset: before.logOffset } : {}),
      eventSeq: before.eventSeq + events.length,
      outbox,
    };
  }

  async remove(id: string): Promise<void> {
    const pending = this.taskEvents.get(id)?.outbox ?? [];
    if (pending.length) {
      this.outbox.deliver(pending);
      this.outbox.sync();
    }
    await rm(join(this.dir, id), { recursive: true, force: true });
    this.tasks.delete(id);
    this.taskEvents.delete(id);
    this.outbox.forget(pending);
  }
}

function recordText(task: Task, events: TaskEvents): string {
  return JSON.stringify({ ...task, ...events }, null, 1) + '\n';
}
