import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SHIM = fileURLToPath(new URL('../../../../native-host/bin/sandgate.mjs', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `sandgate` bin shim as a child process over real stdio. */
export function runSandgate(
  args: string[],
  opts: { home: string; cwd?: string; node?: string; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, [SHIM, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, SANDGATE_POLICY: '', ...opts.env, SANDGATE_HOME: opts.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
