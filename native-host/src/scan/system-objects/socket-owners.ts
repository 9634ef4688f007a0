import { readdirSync, readlinkSync } from 'node:fs';
import type { RootFs } from '../critical-areas/root-fs.ts';
import { processIdentity } from '../critical-areas/process-identity.ts';

export interface SocketOwner {
  pid: number;
  /** Process name (`/proc/PID/comm`). */
  name: string;
  /** Executable (`/proc/PID/exe`), when it can be read. */
  path?: string;
}

export interface SocketOwners {
  /** Socket inode → the process holding it (the lowest pid when several share it, usually the parent that opened it). */
  owners: Map<number, SocketOwner>;
  /** Processes whose descriptors this user may not list (another user's, as non-root): their sockets have no owner. */
  hiddenProcesses: number;
}

/**
 * Which process holds each socket: /proc/PID/fd/N links read `socket:[INODE]`. The kernel shows a process's
 * descriptors only to its owner and to root, so as another user the owner of a socket may be unknown; it is then left
 * out (and counted), never guessed. Stops as soon as every wanted inode is found.
 */
export function socketOwners(fs: RootFs, wanted: ReadonlySet<number>): SocketOwners {
  const owners = new Map<number, SocketOwner>();
  let hiddenProcesses = 0;
  const pids = fs
    .list('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    if (owners.size >= wanted.size) break;
    let fds: string[];
    try {
      fds = readdirSync(fs.at(`/proc/${pid}/fd`));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') hiddenProcesses++;
      continue; // ENOENT: the process ended meanwhile
    }
    let identity: SocketOwner | undefined;
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(fs.at(`/proc/${pid}/fd/${fd}`));
      } catch {
        continue; // closed meanwhile
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m) continue;
      const inode = Number(m[1]);
      if (!wanted.has(inode) || owners.has(inode)) continue;
      identity ??= { pid, ...processIdentity(fs, pid) };
      owners.set(inode, identity);
    }
  }
  return { owners, hiddenProcesses };
}
