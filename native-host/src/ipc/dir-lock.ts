import { mkdir, rmdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A cross-process mutex made of `mkdir` (atomic on every filesystem we run on). Used for the short critical sections
 * where two processes could otherwise both decide to start or replace the agent. A lock whose holder died is taken
 * over once it is older than `staleMs`.
 */
export async function withDirLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: { timeoutMs: number; staleMs: number; pollMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      await mkdir(lockPath, { mode: 0o700 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await stat(lockPath).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > opts.staleMs) {
      await rmdir(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`lock ${lockPath} is held by another process`);
    await sleep(opts.pollMs ?? 25);
  }
  try {
    return await fn();
  } finally {
    await rmdir(lockPath).catch(() => {});
  }
}
