import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';

/** `--data DIR`, else `$SANDGATE_CONSOLE_DATA`, else `~/.local/state/sandgate-console` (XDG state). */
export function consoleDataDir(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.SANDGATE_CONSOLE_DATA) return resolve(env.SANDGATE_CONSOLE_DATA);
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'sandgate-console');
}

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One `serve` per data folder: the embedded database cannot be shared between processes and the control socket has
 * one owner. The lock names the owner's pid; a lock whose process is gone is taken over.
 */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, 'serve.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new SandgateError('DATABASE_UNAVAILABLE', `another sandgate-console (pid ${pid}) is serving ${dir}`, { params: { pid } });
      }
      if (existsSync(file)) unlinkSync(file);
    }
  }
  throw new SandgateError('DATABASE_UNAVAILABLE', `could not lock ${dir}`);
}
