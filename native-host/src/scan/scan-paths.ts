import { resolve, sep } from 'node:path';
import type { ScanSession } from './scan-session.ts';
import { walkTree } from './walk-tree.ts';
import type { MountTable } from './mount-table.ts';

export interface ScanPathsOptions {
  /** Enter other local on-disk filesystems below a root (default: one filesystem per root). */
  crossFilesystems?: boolean;
  mounts?: MountTable;
  /** Folders never entered (Sandgate's own state: its queue holds the very objects a scan would find). */
  exclude?: readonly string[];
  area?: string;
  signal?: AbortSignal;
}

/** Walks each root and checks every regular file; links are counted, never followed. */
export async function scanPaths(session: ScanSession, roots: readonly string[], opts: ScanPathsOptions = {}): Promise<void> {
  const exclude = (opts.exclude ?? []).map((p) => resolve(p));
  const skipDir = (p: string) => exclude.some((x) => p === x || p.startsWith(x.endsWith(sep) ? x : x + sep));
  for (const root of roots) {
    for await (const ev of walkTree(root, {
      oneFilesystem: !opts.crossFilesystems,
      ...(opts.mounts ? { mounts: opts.mounts } : {}),
      skipDir,
      ...(opts.signal ? { signal: opts.signal } : {}),
    })) {
      switch (ev.kind) {
        case 'file':
          await session.checkFile({ path: ev.path, stat: ev.stat, area: opts.area ?? 'path' });
          break;
        case 'link':
          session.counters.linksSkipped++;
          break;
        case 'skipped-mount':
          // A mount that is itself one of the roots is walked on its own turn.
          if (roots.includes(ev.path)) break;
          session.note(opts.area ?? 'path', ev.path, `${ev.fsType}: ${ev.reason}`);
          break;
        case 'error':
          session.error(ev.path, Object.assign(new Error(ev.message), { code: ev.code }));
          break;
      }
    }
  }
}

/**
 * The roots of the `system` scope on this machine: every local on-disk filesystem (one walk each, staying on it),
 * so virtual (proc, sysfs, tmpfs, devtmpfs, cgroup…), overlay, image (squashfs) and network (nfs, cifs, smb3,
 * fuse.sshfs…) mounts are never entered. Where there is no mount table, the root folder.
 */
export function systemRoots(mounts: MountTable): { roots: string[]; left: Array<{ path: string; fsType: string }> } {
  const local = mounts.localDiskMounts();
  if (local.length === 0) return { roots: [process.platform === 'win32' ? (process.env.SystemDrive ?? 'C:') + sep : '/'], left: [] };
  return { roots: local.map((m) => m.mountPoint), left: mounts.nonLocalMounts().map((m) => ({ path: m.mountPoint, fsType: m.fsType })) };
}
