import { homedir } from 'node:os';
import type { CriticalAreaCollector, Finding } from './collector.ts';
import { linuxAutostart } from './linux-autostart.ts';
import { linuxBootSector } from './linux-boot-sector.ts';
import { homeFolders } from './named-files.ts';
import { linuxKernel } from './linux-kernel.ts';
import { linuxProcesses } from './linux-processes.ts';
import { RootFs } from './root-fs.ts';

/** Folders of system programs, walked (not recursively followed through links) as the `system-binaries` area. */
export const LINUX_SYSTEM_BINARY_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/bin', '/sbin'];
/** Per-user folders whose every file starts with the session (`user-startup`). */
export const LINUX_USER_STARTUP_DIRS = ['.config/autostart', '.config/autostart-scripts'];

export interface LinuxCollectorOptions {
  /** `/` in production; a fixture tree in tests. */
  root: string;
  /** Home folders besides those in /etc/passwd (default: this user's, when the root is `/`). */
  extraHomes?: string[];
}

/**
 * The Linux Critical Areas: running processes (deleted and memory-only images included), loaded kernel modules and
 * taint, autostart (systemd, cron, rc.local, init.d, shell profiles, XDG autostart, ld.so.preload), system binary
 * folders, users' startup folders, and the boot disk's first sector.
 */
export class LinuxCriticalAreas implements CriticalAreaCollector {
  readonly name = 'linux';
  readonly runnableHere = process.platform === 'linux';
  private readonly fs: RootFs;
  private readonly extraHomes: string[];

  constructor(opts: LinuxCollectorOptions) {
    this.fs = new RootFs(opts.root);
    this.extraHomes = opts.extraHomes ?? (opts.root === '/' ? [homedir()] : []);
  }

  async *collect(): AsyncGenerator<Finding> {
    const fs = this.fs;
    const homes = homeFolders(fs, this.extraHomes);
    yield* linuxProcesses(fs);
    yield* linuxKernel(fs);
    yield* linuxAutostart(fs, homes);
    for (const dir of LINUX_SYSTEM_BINARY_DIRS) {
      if (fs.lstat(dir)?.isDirectory()) yield { kind: 'folder', area: 'system-binaries', path: dir, origin: 'system binary folder' };
    }
    for (const h of homes) {
      for (const d of LINUX_USER_STARTUP_DIRS) {
        const p = `${h}/${d}`;
        if (fs.lstat(p)?.isDirectory()) yield { kind: 'folder', area: 'user-startup', path: p, origin: 'user startup folder' };
      }
    }
    yield* linuxBootSector(fs);
  }
}
