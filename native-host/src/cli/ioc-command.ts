import { lstat, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SandgateError, taskListOutputSchema, taskSchema, type Task, type TaskSummary } from '@sandgate/shared';
import { connectAgent, type AgentClient } from '../ipc/client.ts';
import { readStoredTasks, summarize } from '../tasks/task-store.ts';
import { describeState } from '../tasks/task-state.ts';
import { formatTable } from './format-table.ts';
import { printJson } from './cli-io.ts';
import { formatLabel, printUnsupported, scanProgress } from './print-scan-output.ts';
import { runScan, type ScanScope } from '../scan/run-scan.ts';
import { loadScanSettings } from '../scan/scan-settings.ts';
import { compileIocFilesForThisHost } from '../scan/host-term-limits.ts';
import { parseCommand, type CommandContext } from './cli-context.ts';
import { EXIT, usage, type CliIo } from './cli-io.ts';
import { cpuBudgetOption, report } from './scan-command.ts';

export const IOC_HELP = `usage: sandgate ioc scan FILE... [--scope critical|system|PATH]... [--json] [--cpu-budget PERCENT] [--cross-filesystems]
       sandgate ioc tasks [--json]
       sandgate ioc task show|run|pause|resume|cancel ID [--json]
       sandgate ioc task create FILE... [--scope critical|system|PATH]... [--run-mode manual|afterThreat|idle]
                                [--quarantine] [--critical-areas-scan] [--json]

An IOC scan now, with every IOC file given, told apart by content (not by name): OpenIOC 1.0/1.1 XML, STIX 2.1 JSON
(a bundle or one indicator; stix patterns over file, process and network-traffic), or YARA rules (run by YARA-X on
each file's first 16 MiB). All files become one plan: each file is visited once, names and sizes are checked before
anything is read, and one read serves every hash and the YARA rules.
  --scope critical   the critical areas (running processes, autostart, system binaries, startup folders, boot sector)
  --scope system     every local disk filesystem (virtual, network and image filesystems are never entered)
  --scope PATH       a folder or file; repeat --scope for several (default: critical)
A walk never follows symbolic links and stays on the filesystem of each PATH unless --cross-filesystems is given
(then it enters other local disk filesystems only). Files over the policy's scan.maxFileBytes are counted, not read.
Running processes, sockets (PortItem) and systemd services (ServiceItem) are looked at whatever the scope, when an
IOC has terms about them. Terms that cannot be evaluated on this machine (no collector for them here) are listed by
name before the scan starts and in the result, and are never counted as evaluated.

IOC scan tasks run in the agent service (sandgate serve), which keeps them in $SANDGATE_HOME/tasks across restarts:
  tasks              every task (IOC scans, and the Critical Areas Scans a threat starts), newest first
  task show ID       a task: state, progress, the terms it cannot evaluate, its matches and what was done about them
  task run ID        start it now (a manual task; an idle task without waiting for the screen to lock)
  task pause ID      stop it after the file at hand, keeping its position; task resume ID lifts the pause
  task cancel ID     stop it for good; its results are kept (policy response.iocScan.keepResultsDays, default 30)
  task create ...    a new task with these IOC files (copied into the task). --run-mode manual (default) waits for
                     "task run"; afterThreat runs at once; idle runs only while the screen is locked or the screensaver
                     runs, pauses when the person comes back and resumes later. On a match: --quarantine moves the
                     file to quarantine, --critical-areas-scan starts one Critical Areas Scan.

exit status: 0 nothing found, 1 a match (a threat was found; for task show: the task has matches), 2 an error.
`;

/** Turns repeated `--scope` values into one scope: `critical`, `system`, or paths (which cannot be mixed with them). */
export function parseScope(values: string[] | undefined, cwd: string): ScanScope {
  if (!values || values.length === 0) return 'critical';
  const named = values.filter((v) => v === 'critical' || v === 'system');
  if (named.length) {
    if (values.length > 1) throw usage('--scope critical or --scope system stands alone; give paths without them');
    return named[0] as 'critical' | 'system';
  }
  return values.map((v) => resolve(cwd, v));
}

/** `sandgate ioc scan …` (in this process), `ioc tasks` and `ioc task …` (asked of the agent service). */
export async function iocCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, {
    scope: { type: 'string', multiple: true },
    'cpu-budget': { type: 'string' },
    'cross-filesystems': { type: 'boolean' },
    'run-mode': { type: 'string' },
    quarantine: { type: 'boolean' },
    'critical-areas-scan': { type: 'boolean' },
  });
  const [sub, ...files] = positionals;
  if (help || !sub) {
    io.out(IOC_HELP);
    return help ? EXIT.ok : EXIT.error;
  }
  if (sub === 'tasks') {
    if (files.length) throw usage(`unexpected arguments: ${files.join(' ')}`);
    return listTasks(ctx);
  }
  if (sub === 'task') return taskCommand(ctx, files, values);
  if (sub !== 'scan') throw usage(`unknown ioc command "${sub}" (sandgate ioc scan|tasks|task)`);
  if (files.length === 0) throw usage('sandgate ioc scan needs at least one IOC file');
  const scope = parseScope(values.scope as unknown as string[] | undefined, io.cwd);
  // A mistyped path would otherwise scan nothing and report "no match".
  if (Array.isArray(scope)) {
    for (const p of scope) {
      await lstat(p).catch((err: NodeJS.ErrnoException) => {
        throw new SandgateError(err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `--scope ${p}: ${err.code}`, {
          params: { path: p },
        });
      });
    }
  }
  const settings = await loadScanSettings({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
  const sources = [];
  for (const f of files) {
    const path = resolve(io.cwd, f);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SandgateError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `${path}: cannot read the IOC file (${code})`, {
        params: { path },
      });
    }
    sources.push({ file: path, bytes });
  }
  const { set } = compileIocFilesForThisHost(sources);
  // Said before the scan starts, so nobody waits an hour to learn half the IOC was never going to be evaluated.
  if (set.unsupported.length && !ctx.json) printUnsupported((t) => io.err(t), set.unsupported, set.termCounts);
  const progress = scanProgress(io);
  const out = await runScan({
    kind: 'ioc',
    scope,
    indicators: [{ set, source: 'ioc' }],
    maxFileBytes: settings.maxFileBytes,
    cpuBudgetPercent: cpuBudgetOption(values['cpu-budget'], settings.cpuBudgetPercent),
    exclude: [ctx.home],
    crossFilesystems: values['cross-filesystems'] === true,
    onProgress: progress.update,
    // For tests: hashing threads from the first read whatever the machine's load (when the CPU budget allows them).
    ...(io.env.SANDGATE_SCAN_THREADS === 'always' ? { hashThreadsAfter: 0, hashThreadsMinCores: 0 } : {}),
  });
  progress.finish(out.summary);
  return report(ctx, out);
}

type Values = Record<string, string | boolean | undefined>;
const TASK_COMMANDS = ['show', 'run', 'pause', 'resume', 'cancel'] as const;
type TaskCommandName = (typeof TASK_COMMANDS)[number];

/**
 * The agent answers when it runs; `tasks` and `task show` otherwise read the stored records (read-only, so nothing
 * races with an agent starting meanwhile). Commands that change a task start the agent, which owns running tasks:
 * the CLI never writes into a task folder the agent may be writing.
 */
async function agentOrNull(ctx: CommandContext): Promise<AgentClient | undefined> {
  try {
    return await connectAgent({ home: ctx.home, autostart: false, timeoutMs: 3000 });
  } catch (err) {
    if (err instanceof SandgateError && err.code === 'AGENT_UNAVAILABLE') return undefined;
    throw err;
  }
}

async function listTasks(ctx: CommandContext): Promise<number> {
  const client = await agentOrNull(ctx);
  let tasks: TaskSummary[];
  if (client) {
    try {
      tasks = parseAnswer(taskListOutputSchema, await client.request('list-tasks', {}), 'list-tasks').tasks;
    } finally {
      client.close();
    }
  } else {
    ctx.io.err('The agent is not running: showing the tasks as stored.\n');
    tasks = readStoredTasks(ctx.home).map(summarize);
  }
  if (ctx.json) printJson(ctx.io, { tasks });
  else if (tasks.length === 0) ctx.io.out('No scan tasks.\n');
  else {
    ctx.io.out(
      formatTable(
        ['ID', 'KIND', 'STATE', 'RUN MODE', 'PROGRESS', 'MATCHES', 'SCOPE'],
        tasks.map((t) => [t.id, t.kind, describeState(t), t.runMode, progressText(t), String(t.matchCount), scopeText(t.scope)]),
      ),
    );
  }
  return EXIT.ok;
}

async function taskCommand(ctx: CommandContext, args: string[], values: Values): Promise<number> {
  const [command, ...rest] = args;
  if (command === 'create') return createTask(ctx, rest, values);
  if (!command || !(TASK_COMMANDS as readonly string[]).includes(command)) {
    throw usage(`sandgate ioc task needs one of ${[...TASK_COMMANDS, 'create'].join(', ')}`);
  }
  const [id, ...extra] = rest;
  if (!id) throw usage(`sandgate ioc task ${command} needs a task ID (see sandgate ioc tasks)`);
  if (extra.length) throw usage(`unexpected arguments: ${extra.join(' ')}`);
  if (!/^[0-9a-f]{16}$/.test(id))
    throw new SandgateError('TASK_NOT_FOUND', `no scan task ${id} (task IDs are 16 hexadecimal digits)`, { params: { id } });
  let task: Task;
  if (command === 'show') {
    const client = await agentOrNull(ctx);
    if (client) task = await ask(client, { command: 'show', id });
    else {
      const stored = readStoredTasks(ctx.home).find((t) => t.id === id);
      if (!stored) throw new SandgateError('TASK_NOT_FOUND', `no scan task ${id}`, { params: { id } });
      ctx.io.err('The agent is not running: showing the task as stored.\n');
      task = stored;
    }
  } else {
    const client = await connectAgent({ home: ctx.home, autostart: true, ...(ctx.policyPath ? { policyPath: ctx.policyPath } : {}) });
    task = await ask(client, { command: command as TaskCommandName, id });
  }
  if (ctx.json) printJson(ctx.io, task);
  else ctx.io.out(command === 'show' ? formatTask(task) : `Task ${task.id}: ${describeState(task)}.\n`);
  return command === 'show' && task.matches.length ? EXIT.threat : EXIT.ok;
}

async function createTask(ctx: CommandContext, files: string[], values: Values): Promise<number> {
  if (files.length === 0) throw usage('sandgate ioc task create needs at least one IOC file');
  const runMode = values['run-mode'] ?? 'manual';
  if (runMode !== 'manual' && runMode !== 'afterThreat' && runMode !== 'idle') throw usage('--run-mode takes manual, afterThreat or idle');
  const scope = parseScope(values.scope as unknown as string[] | undefined, ctx.io.cwd);
  const iocFiles = files.map((f) => resolve(ctx.io.cwd, f));
  const client = await connectAgent({ home: ctx.home, autostart: true, ...(ctx.policyPath ? { policyPath: ctx.policyPath } : {}) });
  const task = await ask(client, {
    command: 'create',
    iocFiles,
    scope,
    runMode,
    onMatch: { quarantine: values.quarantine === true, criticalAreasScan: values['critical-areas-scan'] === true },
  });
  if (ctx.json) printJson(ctx.io, task);
  else {
    if (task.unsupported.length) printUnsupported((t) => ctx.io.err(t), task.unsupported, task.termCounts);
    ctx.io.out(
      `Task ${task.id} created (${task.runMode}${task.runMode === 'manual' ? ': start it with sandgate ioc task run ' + task.id : ''}).\n`,
    );
  }
  return EXIT.ok;
}

async function ask(client: AgentClient, payload: unknown): Promise<Task> {
  try {
    return parseAnswer(taskSchema, await client.request('task-command', payload, { timeoutMs: 120_000 }), 'task-command');
  } finally {
    client.close();
  }
}

function parseAnswer<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  value: unknown,
  what: string,
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new SandgateError('MESSAGE_INVALID', `the agent answered ${what} with something unexpected`);
  return r.data;
}

function scopeText(scope: Task['scope']): string {
  return Array.isArray(scope) ? scope.join(', ') : scope;
}

function progressText(t: Pick<Task, 'progress'>): string {
  const p = t.progress;
  return p.total !== undefined ? `${p.filesDone}/${p.total}` : `${p.filesDone}`;
}

/** `ioc task show` in text: what it is, where it stands, what it cannot evaluate, what it found and did. */
export function formatTask(t: Task): string {
  const lines = [
    `Task ${t.id}: ${t.kind === 'ioc' ? 'IOC scan' : 'Critical Areas Scan'}, ${describeState(t)}`,
    `  created    ${t.createdAt} by ${t.createdBy}${t.jobId ? ` (job ${t.jobId})` : ''}${t.parentTaskId ? ` (after a match of task ${t.parentTaskId})` : ''}`,
    `  scope      ${scopeText(t.scope)}; run mode ${t.runMode}; on match: ${[t.onMatch.quarantine && 'quarantine', t.onMatch.criticalAreasScan && 'Critical Areas Scan'].filter(Boolean).join(', ') || 'report'}`,
    `  progress   ${progressText(t)} file(s) done in ${t.progress.runs} run(s)${t.resumedAt.length ? `, resumed ${t.resumedAt.length} time(s)` : ''}`,
    `  read       ${t.stats.hashed} file(s), ${t.stats.bytesRead} bytes; ${t.stats.skippedByPlan} decided without reading; ${t.stats.errors} error(s)`,
  ];
  for (const f of t.iocFiles) lines.push(`  IOC        ${f.name} (${f.iocId}) from ${f.source}`);
  if (t.sha256.length) lines.push(`  SHA-256    ${t.sha256.join(', ')}`);
  if (t.finishedAt) lines.push(`  finished   ${t.finishedAt}`);
  if (t.error) lines.push(`  error      ${t.error.code}: ${t.error.message}`);
  if (t.unsupported.length) {
    lines.push(`  ${t.termCounts.unsupported} IOC term(s) cannot be evaluated here (${t.termCounts.evaluated} can):`);
    for (const u of t.unsupported) lines.push(`    ${u.file} ${u.itemId}: ${u.term}: ${u.reason}`);
  }
  for (const w of t.warnings) lines.push(`  warning    ${w.file} ${w.itemId}: ${w.message}`);
  lines.push(t.matches.length ? `  ${t.matches.length} match(es):` : '  No match.');
  for (const m of t.matches) {
    lines.push(
      `    MATCH  ${m.path}  [${m.area}]  ${formatLabel(m.format)} ${m.iocId}${m.description ? ` (${m.description.split('\n')[0]})` : ''}`,
    );
    for (const a of m.actions)
      lines.push(
        `           ${a.type}: ${a.status}${a.id ? ` ${a.id}` : ''}${a.code ? ` ${a.code}` : ''}${a.message ? ` (${a.message})` : ''}`,
      );
  }
  if (t.notExamined.length) {
    lines.push('  Not examined:');
    for (const n of t.notExamined) lines.push(`    [${n.area}] ${n.what}: ${n.reason}`);
  }
  return lines.join('\n') + '\n';
}
