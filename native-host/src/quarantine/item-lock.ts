import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { SandgateError } from '@sandgate/shared';

/**
 * A per-item lock so that exactly one restore or delete of an item proceeds: the lock file is created with O_EXCL,
 * which the kernel arbitrates. A lock left by a process that died is recognised by its pid and taken over once.
 */
export function acquireItemLock(lockPath: string, id: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          unlinkSync(lockPath);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt === 0 && isStale(lockPath)) {
        try {
          unlinkSync(lockPath);
        } catch {
          // someone else cleared it first; the retry decides
        }
        continue;
      }
      break;
    }
  }
  throw new SandgateError('QUARANTINE_ITEM_BUSY', `quarantine item ${id} is being restored or deleted by another process`, {
    params: { id },
  });
}

function isStale(lockPath: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lockPath, 'utf8'));
  } catch {
    return false;
  }
  // A lock whose writer has not written its pid yet is young, not stale.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
