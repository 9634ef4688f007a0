import { resolve } from 'node:path';
import { SandgateError, listJobsResultSchema, submitResultSchema, toWireError, type Job, type SubmitOutputLine } from '@sandgate/shared';
import { connectAgent, type AgentClient } from '../ipc/client.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';

export const SUBMIT_HELP = `usage: sandgate submit FILE... [--wait] [--json] [--policy FILE]

Queues each FILE for the sandbox (starting the agent service if needed) and prints the job ids. With --wait, waits
for every verdict and the actions taken, one line per object (--json: one JSON object per line).

Exit status with --wait: 1 when any object is malicious or suspicious (a threat outranks errors, so scripts that test
for 1 never miss one), else 2 when any object failed, else 0. Without --wait: 2 when any submission failed, else 0.
`;

/** How often --wait asks for the jobs, in case a push was missed (the agent restarted, a cached verdict). */
const POLL_MS = 2000;

interface Pending {
  path: string;
  jobId?: string;
  sha256: string;
  size: number;
}

export async function submitCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, { wait: { type: 'boolean' } });
  if (help) {
    io.out(SUBMIT_HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw usage('sandgate submit needs at least one FILE');
  const wait = values.wait === true;
  const client = await connectAgent({ home: ctx.home, autostart: true, ...(ctx.policyPath ? { policyPath: ctx.policyPath } : {}) });
  try {
    const finished = new Map<string, Job>();
    let wake: () => void = () => {};
    const offEvent = client.onEvent((e) => {
      if (e.type !== 'job-update' || (e.payload.state !== 'done' && e.payload.state !== 'error')) return;
      finished.set(e.payload.jobId, e.payload);
      wake();
    });
    client.onClose(() => wake());

    const pending: Pending[] = [];
    let errors = 0;
    let threats = 0;
    const emit = (line: SubmitOutputLine) => {
      const level = line.verdict?.level;
      if (level === 'malicious' || level === 'suspicious') threats++;
      if (line.error) errors++;
      if (ctx.json) printJson(io, line);
      else io.out(readableLine(line));
    };

    for (const file of positionals) {
      const path = resolve(io.cwd, file);
      try {
        const raw = await client.request('submit-file', { path });
        const r = submitResultSchema.safeParse(raw);
        if (!r.success) throw new SandgateError('MESSAGE_INVALID', 'the agent answered submit-file with something unexpected');
        pending.push({ path, jobId: r.data.jobId, sha256: r.data.sha256, size: r.data.size });
        if (!wait) {
          if (ctx.json) printJson(io, { path, jobId: r.data.jobId, sha256: r.data.sha256, size: r.data.size, state: r.data.state });
          else io.out(`${r.data.jobId}  ${r.data.state}  ${path}\n`);
        }
      } catch (err) {
        const w = toWireError(err);
        if (wait) emit({ object: { path, sha256: '', size: 0 }, actions: [], error: { code: w.code, message: w.message } });
        else {
          errors++;
          io.err(`error[${w.code}]: ${path}: ${w.message}\n`);
          if (ctx.json) printJson(io, { path, error: { code: w.code, message: w.message } });
        }
      }
    }
    if (!wait) return errors ? EXIT.error : EXIT.ok;

    const progress = (text: string) => {
      if (io.stderrIsTTY) io.err(`\r\x1b[K${text}`);
    };
    let open = pending.filter((p) => p.jobId);
    let lastPoll = 0;
    while (open.length) {
      progress(`waiting for ${open.length} verdict(s)…`);
      if (Date.now() - lastPoll >= POLL_MS) {
        lastPoll = Date.now();
        await pollJobs(client, finished);
      }
      for (const p of open) {
        const job = p.jobId ? finished.get(p.jobId) : undefined;
        if (!job) continue;
        progress('');
        emit(outputLine(p, job));
      }
      open = open.filter((p) => !(p.jobId && finished.has(p.jobId)));
      if (!open.length) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, POLL_MS);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      if (client.closed) throw new SandgateError('AGENT_UNAVAILABLE', 'the agent service went away before every verdict arrived');
    }
    progress('');
    offEvent();
    return threats ? EXIT.threat : errors ? EXIT.error : EXIT.ok;
  } finally {
    client.close();
  }
}

async function pollJobs(client: AgentClient, into: Map<string, Job>): Promise<void> {
  const r = listJobsResultSchema.safeParse(await client.request('list-jobs', { limit: 200 }));
  if (!r.success) return;
  for (const job of r.data.jobs) if (job.state === 'done' || job.state === 'error') into.set(job.jobId, job);
}

function outputLine(p: Pending, job: Job): SubmitOutputLine {
  return {
    object: { path: p.path, sha256: job.sha256 || p.sha256, size: job.size ?? p.size, ...(job.content ? { content: job.content } : {}) },
    ...(job.verdict ? { verdict: job.verdict } : {}),
    actions: job.actions ?? [],
    ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
  };
}

function readableLine(line: SubmitOutputLine): string {
  if (line.error && !line.verdict) return `error[${line.error.code}] ${line.object.path}: ${line.error.message}\n`;
  const v = line.verdict;
  const what = v ? `${v.level}${v.threat ? ` (${v.threat})` : ''} by ${v.server}` : 'no verdict';
  const actions = line.actions.map((a) => `${a.type} ${a.status}${a.id ? ` ${a.id}` : ''}`).join(', ');
  const c = line.object.content;
  const disguise = c?.disguised ? `; its content is ${c.kind} (${c.format}) whatever its name says` : '';
  return `${line.object.path}: ${what}${disguise}${actions ? `; ${actions}` : ''}${line.error ? `; error[${line.error.code}] ${line.error.message}` : ''}\n`;
}
