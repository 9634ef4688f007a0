import type { Task, TaskSummary } from '@sandgate/shared';
import type { TaskGuard } from './task-guard.ts';
import type { TaskCommand } from './task-state.ts';

// The tasks as the rest of the agent sees them (response actions, the router, the CLI, the console channel): what
// they may ask, apart from how TaskRunner schedules and runs them.

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
