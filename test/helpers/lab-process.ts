import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { LabTarget } from './lab-request.ts';

const SHIM = resolve(import.meta.dirname, '../../sandbox-server/bin/sandgate-lab.mjs');

export interface LabProcess extends LabTarget {
  token: string;
  pid: number;
  /** File descriptors the lab process holds now (sockets, files, its own), read from /proc. */
  descriptors(): number;
  /** What it wrote on stderr, for failure messages. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * `sandgate-lab serve --port 0 --data DIR --json ARGS…` as a real process, so a test can count what the lab itself
 * holds (its descriptors) rather than trust the lab's own bookkeeping.
 */
export async function spawnLab(dataDir: string, args: string[] = []): Promise<LabProcess> {
  const child: ChildProcess = spawn(process.execPath, [SHIM, 'serve', '--port', '0', '--data', dataDir, '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
  const first = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).once('line', ok);
    child.once('exit', (code) => fail(new Error(`sandgate-lab exited ${code}:\n${stderr}`)));
  });
  const info = JSON.parse(first) as { url: string; certPath: string; tokenPath: string };
  const pid = child.pid!;
  return {
    url: info.url,
    certPath: info.certPath,
    token: readFileSync(info.tokenPath, 'utf8').trim(),
    pid,
    descriptors: () => readdirSync(`/proc/${pid}/fd`).length,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
