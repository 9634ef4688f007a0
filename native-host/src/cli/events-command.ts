import { closeSync, existsSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { agentEventSchema, type AgentEvent } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { EventLog } from '../events/event-log.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, usage, type CliIo } from './cli-io.ts';

export const EVENTS_HELP = `usage: sandgate events [--follow] [--json]

Prints the agent's event log; --follow keeps printing new events until interrupted. --json prints one JSON object per line.
`;

export async function eventsCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, { follow: { type: 'boolean', short: 'f' } });
  if (help) {
    io.out(EVENTS_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const log = new EventLog(sandgatePaths(ctx.home).events);
  const print = (e: AgentEvent) => io.out(ctx.json ? JSON.stringify(e) + '\n' : formatEvent(e));
  if (values.follow !== true) {
    const { events, unreadable } = log.read();
    events.forEach(print);
    if (unreadable) io.err(`warning: ${unreadable} unreadable line(s) skipped\n`);
    return EXIT.ok;
  }
  await follow(log.file, print, io.interrupted);
  return EXIT.ok;
}

export function formatEvent(e: AgentEvent): string {
  const parts = [e.time, e.type];
  if (e.code) parts.push(`[${e.code}]`);
  if (e.level) parts.push(e.threat ? `${e.level} (${e.threat})` : e.level);
  if (e.quarantineId) parts.push(`item ${e.quarantineId}`);
  if (e.taskId) parts.push(`task ${e.taskId}`);
  if (e.path) parts.push(e.path);
  if (e.message) parts.push(`- ${e.message}`);
  return parts.join(' ') + '\n';
}

/**
 * Tails the log: prints what is there, then whatever is appended. A watcher wakes us early; a slow poll covers
 * filesystems where watching is unreliable. A torn last line is held back until its newline arrives.
 */
async function follow(file: string, print: (e: AgentEvent) => void, stop: Promise<string>): Promise<void> {
  let offset = 0;
  let partial = '';
  const drain = () => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < offset) offset = 0; // truncated or replaced: start over
    if (size === offset) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      const lines = (partial + buf.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        try {
          const r = agentEventSchema.safeParse(JSON.parse(line));
          if (r.success) print(r.data);
        } catch {
          // an unreadable line is skipped, as `events` without --follow does
        }
      }
    } finally {
      closeSync(fd);
    }
  };
  drain();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), () => drain());
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(drain, 1000);
  try {
    await stop;
  } finally {
    clearInterval(timer);
    watcher?.close();
  }
}
