import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { taskSchema, type Task, type TaskSummary } from '@sandgate/shared';
import { TEMP_PREFIX, fsyncDir, tempName, writeFileDurable, writeFileSynced } from '../queue/durable-write.ts';
import type { EventLog } from '../events/event-log.ts';

export const TASK_FILE = 'task.json';
export const IOC_DIR = 'iocs';

export function tasksDir(home: string): string {
  return join(home, 'tasks');
}

export function newTaskId(): string {
  return randomBytes(8).toString('hex');
}

const isTaskId = (s: string) => /^[0-9a-f]{16}$/.test(s);

/** Parses one task record; undefined when it is missing, not JSON or not a task. */
function readRecord(dir: string): Task | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, TASK_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const r = taskSchema.safeParse(raw);
  return r.success ? r.data : undefined;
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
  return tasks.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * The agent's tasks on disk: `tasks/<id>/task.json` (rewritten by temp file + rename + folder fsync) and
 * `tasks/<id>/iocs/` (the IOC files as they were when the task was created). A task folder appears whole or not at
 * all: it is assembled under a temp name and renamed into place. Only the agent writes here.
 */
export class TaskStore {
  readonly dir: string;
  private readonly events: EventLog;
  private readonly tasks = new Map<string, Task>();

  constructor(home: string, events: EventLog) {
    this.dir = tasksDir(home);
    this.events = events;
  }

  /** Reads every record: debris of an interrupted creation removed, unreadable records set aside with an event. */
  load(now: Date): Task[] {
    this.tasks.clear();
    if (!existsSync(this.dir)) return [];
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        rmSync(join(this.dir, name), { recursive: true, force: true });
        continue;
      }
      if (!isTaskId(name)) continue;
      const t = readRecord(join(this.dir, name));
      if (t && t.id === name) this.tasks.set(t.id, t);
      else this.setAside(name, now);
    }
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
    this.events.append({ type: 'scan-task-corrupt', taskId: name, code: 'INTERNAL', message: `the record of task ${name} is unreadable; moved to ${to}` }, now);
  }

  list(): Task[] {
    return [...this.tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
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

  async save(task: Task): Promise<Task> {
    const parsed = taskSchema.parse(task);
    await writeFileDurable(join(this.dir, task.id), TASK_FILE, JSON.stringify(parsed, null, 1) + '\n');
    this.tasks.set(task.id, parsed);
    return parsed;
  }

  /** Writes a new task folder with its IOC files (and `extra` files beside the record), under a temp name first: a crash leaves a whole task or none. */
  async create(task: Task, iocs: ReadonlyArray<{ name: string; bytes: Uint8Array }>, extra: ReadonlyArray<{ name: string; bytes: Uint8Array }> = []): Promise<Task> {
    const parsed = taskSchema.parse(task);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, tempName());
    await mkdir(join(tmp, IOC_DIR), { recursive: true, mode: 0o700 });
    try {
      for (const f of iocs) await writeFileSynced(join(tmp, IOC_DIR, f.name), Buffer.from(f.bytes));
      // Files that belong with the record from its first moment (a console task's guard).
      for (const f of extra) await writeFileSynced(join(tmp, f.name), Buffer.from(f.bytes));
      await writeFileSynced(join(tmp, TASK_FILE), JSON.stringify(parsed, null, 1) + '\n');
      await fsyncDir(join(tmp, IOC_DIR));
      await fsyncDir(tmp);
      await rename(tmp, join(this.dir, task.id));
      await fsyncDir(this.dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    this.tasks.set(task.id, parsed);
    return parsed;
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, id), { recursive: true, force: true });
    this.tasks.delete(id);
  }
}
