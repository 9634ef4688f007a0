import { readFileSync } from 'node:fs';

/** Whether process `pid` still runs: it answers signal 0 and is not a zombie (which has exited; /proc tells them apart). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
