import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameDecoder, encodeFrame } from '#native-host/wire/framing.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The npm bin shim, so tests run the host exactly as `sandgate-native-host` is run. */
export const NATIVE_HOST_SHIM = join(ROOT, 'native-host', 'bin', 'sandgate-native-host.mjs');
/** The fake agent service (see fake-agent-service.ts), as a serve command. */
export const FAKE_AGENT_COMMAND = [process.execPath, join(ROOT, 'test', 'helpers', 'fake-agent-service.ts')];

export interface HostProcess {
  child: ChildProcess;
  /** Writes raw bytes to the host's stdin (errors after the host exited are ignored). */
  write(bytes: Buffer): void;
  /** Writes one framed message. */
  send(msg: unknown): void;
  /** Closes stdin, as the browser does when the port disconnects. */
  end(): void;
  /** The next frame the host writes (frames are queued, none is lost). */
  nextFrame(): Promise<unknown>;
  /** Every frame written so far. */
  readonly frames: unknown[];
  /** Resolves when the process exits, with everything it wrote. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; frames: unknown[]; stdoutBytes: number; stderr: string }>;
}

/** Spawns the real native host over real stdio, with SANDGATE_HOME = home. */
export function spawnHost(opts: { home: string; args: string[]; serveCommand?: string[]; env?: Record<string, string> }): HostProcess {
  const child = spawn(process.execPath, [NATIVE_HOST_SHIM, ...opts.args], {
    env: {
      ...process.env,
      SANDGATE_HOME: opts.home,
      ...(opts.serveCommand ? { SANDGATE_SERVE_COMMAND: JSON.stringify(opts.serveCommand) } : {}),
      ...opts.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Host → browser frames are at most 1 MiB; decode with room to spare so an oversized one shows up as a failure.
  const decoder = new FrameDecoder(64 * 1024 * 1024);
  const frames: unknown[] = [];
  const waiters: Array<(f: unknown) => void> = [];
  let delivered = 0;
  let stdoutBytes = 0;
  let stderr = '';
  child.stdin!.on('error', () => {});
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    for (const r of decoder.push(chunk)) {
      const f = r.ok ? r.value : { undecodable: r.error.code };
      frames.push(f);
      const w = waiters.shift();
      if (w) {
        delivered++;
        w(f);
      }
    }
  });
  const exited = new Promise<Awaited<HostProcess['exited']>>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, frames, stdoutBytes, stderr })),
  );
  return {
    child,
    frames,
    exited,
    write: (b) => {
      if (child.stdin!.writable) child.stdin!.write(b);
    },
    send: (m) => {
      if (child.stdin!.writable) child.stdin!.write(encodeFrame(m, 64 * 1024 * 1024));
    },
    end: () => child.stdin!.end(),
    nextFrame: () =>
      new Promise((resolve, reject) => {
        if (delivered < frames.length) return resolve(frames[delivered++]);
        waiters.push(resolve);
        void exited.then(() => reject(new Error(`host exited before the next frame; stderr: ${stderr}`)));
      }),
  };
}

/** Lines of the fake agent's start log. */
export function fakeAgentStarts(home: string): string[] {
  const f = join(home, 'fake-agent.log');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
}

/** The bridge's own log lines, parsed. */
export function hostLog(home: string): Array<Record<string, unknown>> {
  const f = join(home, 'logs', 'native-host.log');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Stops every fake agent recorded as listening in this home. */
export function killFakeAgents(home: string): void {
  for (const line of fakeAgentStarts(home)) {
    const [state, pid] = line.split(' ');
    if (state !== 'listening') continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A hello request as the extension sends it. */
export function helloRequest(id: string, client = 'sandgate-extension/test chromium') {
  return { v: 1, kind: 'request', id, type: 'hello', payload: { minV: 1, capabilities: ['verdict-push'], client } };
}
