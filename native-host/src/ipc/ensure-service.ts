import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandgateError } from '@sandgate/shared';
import { openLogFile } from '../config/log-file.ts';
import { sandgatePaths } from '../config/paths.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { ensureRunDir, runDir } from './run-dir.ts';
import { connectLocal } from './probe-socket.ts';
import { withDirLock } from './dir-lock.ts';

/** The `sandgate` bin shim (compiled entry or TypeScript, see run-on-pinned-node.mjs) whose `serve` runs the agent service. */
export const SANDGATE_CLI_ENTRY = fileURLToPath(new URL('../../bin/sandgate.mjs', import.meta.url));

export function defaultServeCommand(policyPath?: string): string[] {
  return [process.execPath, SANDGATE_CLI_ENTRY, 'serve', ...(policyPath ? ['--policy', policyPath] : [])];
}

export interface EnsureServiceOptions {
  home: string;
  serveCommand?: string[];
  policyPath?: string;
  /** How long to wait for the service's socket. Default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Returns a socket connected to the agent, starting the service first when nobody listens. Starting is serialised
 * by a lock so that bridges launched together (several browser windows) start one service, not one each.
 */
export async function ensureService(opts: EnsureServiceOptions): Promise<Socket> {
  const log = opts.logger ?? silentLogger;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const path = await ensureRunDir(opts.home);
  const first = await connectLocal(path);
  if (first) return first;

  const unavailable = (reason: string) =>
    new SandgateError('AGENT_UNAVAILABLE', `the agent service did not start: ${reason}`, { params: { socket: path } });

  try {
    return await withDirLock(
      join(runDir(opts.home), 'spawn.lock'),
      async () => {
        // Whoever held the lock before us may have started it already.
        const again = await connectLocal(path);
        if (again) return again;
        const command = opts.serveCommand ?? defaultServeCommand(opts.policyPath);
        const child = startDetached(command, opts.home);
        log.info('agent service started', { pid: child.pid, command: command.slice(1) });
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const exit = child.exit;
          const s = await connectLocal(path);
          if (s) return s;
          // Checked after the connect attempt: a service that exited because another one already serves is fine.
          if (exit) throw unavailable(`it exited (${exit}); see ${join(sandgatePaths(opts.home).logs, 'agent.log')}`);
          if (Date.now() > deadline) throw unavailable(`no answer on ${path} after ${timeoutMs} ms`);
          await sleep(50);
        }
      },
      // A waiter gives the holder its whole start-up time; a lock older than that belongs to a dead process.
      { timeoutMs: timeoutMs + 5_000, staleMs: timeoutMs + 5_000 },
    );
  } catch (err) {
    if (err instanceof SandgateError) throw err;
    throw unavailable(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Spawns the service in its own session (setsid via `detached`) so that a browser killing the bridge's process
 * group, as Firefox does, does not take the service with it. Its output goes to logs/agent.log, never to our stdout.
 */
function startDetached(command: string[], home: string): { pid: number | undefined; readonly exit: string | null } {
  const [file, ...args] = command;
  if (!file) throw new SandgateError('AGENT_UNAVAILABLE', 'empty serve command');
  // Loaded here, not at the top: child_process (with net, streams, dgram) is ~3 ms of every `sandgate status` and
  // native-host start, and only a start that finds no agent spawns one (issue 15).
  const { spawn } = process.getBuiltinModule('node:child_process');
  const fd = openLogFile(home, 'agent.log');
  try {
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, SANDGATE_HOME: home },
      cwd: home,
      windowsHide: true,
    });
    const state = { pid: child.pid, exit: null as string | null };
    child.on('error', (err) => (state.exit = err.message));
    child.on('exit', (code, signal) => (state.exit = signal ? `signal ${signal}` : `code ${code}`));
    child.unref();
    return state;
  } finally {
    closeSync(fd);
  }
}
