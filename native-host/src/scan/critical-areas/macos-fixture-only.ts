import type { CriticalAreaCollector, Finding } from './collector.ts';
import { commandFiles, fileAt } from './named-files.ts';
import { parsePlistXml, type PlistValue } from './plist-xml.ts';
import { RootFs } from './root-fs.ts';

export const MACOS_LAUNCHD_DIRS = [
  '/System/Library/LaunchAgents',
  '/Library/LaunchAgents',
  '/System/Library/LaunchDaemons',
  '/Library/LaunchDaemons',
];
export const MACOS_USER_LAUNCHD_DIR = 'Library/LaunchAgents';
export const MACOS_SYSTEM_BINARY_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/libexec'];

/** What a launchd job runs: `Program`, else `ProgramArguments[0]`, plus the absolute paths among its arguments. */
export function launchdProgram(plist: PlistValue | undefined): { label?: string; program?: string; args: string[] } {
  if (!plist || typeof plist !== 'object' || Array.isArray(plist)) return { args: [] };
  const args = Array.isArray(plist.ProgramArguments) ? plist.ProgramArguments.filter((a): a is string => typeof a === 'string') : [];
  const program = typeof plist.Program === 'string' ? plist.Program : args[0];
  return { ...(typeof plist.Label === 'string' ? { label: plist.Label } : {}), ...(program ? { program } : {}), args };
}

/**
 * macOS Critical Areas, designed behind the same interface and tested on a fixture folder of plists. NOT RUNNABLE
 * HERE: this machine is Linux; on macOS the process list would come from `proc_listpids`/`ps`, binary plists would be
 * converted with `plutil`, and login items read from the Background Task Management store (`sfltool dumpbtm`).
 * Covered: launchd agents and daemons (system and per user; the plist and the program it runs), legacy StartupItems,
 * cron tabs, the per-user login-items store as an object, system binary folders. The boot sector is not applicable
 * (Secure Boot on T2 and Apple silicon Macs; no MBR boot code runs).
 */
export class MacosCriticalAreasFixtureOnly implements CriticalAreaCollector {
  readonly name = 'macos (fixture only)';
  readonly runnableHere = false;
  private readonly fs: RootFs;

  constructor(opts: { root: string }) {
    this.fs = new RootFs(opts.root);
  }

  async *collect(): AsyncGenerator<Finding> {
    const fs = this.fs;
    const users = fs.list('/Users').filter((u) => u !== 'Shared' && !u.startsWith('.'));
    const dirs = [...MACOS_LAUNCHD_DIRS, ...users.map((u) => `/Users/${u}/${MACOS_USER_LAUNCHD_DIR}`)];
    for (const dir of dirs) {
      for (const name of fs.list(dir)) {
        if (!name.endsWith('.plist')) continue;
        const p = `${dir}/${name}`;
        const f = fileAt(fs, p, 'launchd', `launchd ${dir.includes('Daemons') ? 'daemon' : 'agent'}`);
        if (!f) continue;
        yield f;
        const text = fs.readText(p) ?? '';
        if (text.startsWith('bplist00')) {
          yield { kind: 'unavailable', area: 'launchd', what: p, reason: 'binary plist (converted with plutil on macOS; not parsed here)' };
          continue;
        }
        let job;
        try {
          job = launchdProgram(parsePlistXml(text));
        } catch (err) {
          yield { kind: 'unavailable', area: 'launchd', what: p, reason: `not a valid plist (${(err as Error).message})` };
          continue;
        }
        if (!job.program) continue;
        const origin = `launchd job ${job.label ?? name} (${p})`;
        const cmd = [job.program, ...job.args.slice(job.args[0] === job.program ? 1 : 0)]
          .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
          .join(' ');
        for (const t of commandFiles(fs, cmd, 'launchd', origin)) yield t;
      }
    }
    for (const dir of ['/Library/StartupItems', '/System/Library/StartupItems']) {
      if (fs.lstat(dir)?.isDirectory()) yield { kind: 'folder', area: 'autostart', path: dir, origin: 'legacy StartupItems' };
    }
    for (const name of fs.list('/private/var/at/tabs')) {
      const f = fileAt(fs, `/private/var/at/tabs/${name}`, 'autostart', 'cron');
      if (f) yield f;
    }
    for (const u of users) {
      const btm = `/Users/${u}/Library/Application Support/com.apple.backgroundtaskmanagementagent/backgrounditems.btm`;
      const f = fileAt(fs, btm, 'login-item', 'login items store');
      if (f) yield f;
    }
    for (const dir of MACOS_SYSTEM_BINARY_DIRS) {
      if (fs.lstat(dir)?.isDirectory()) yield { kind: 'folder', area: 'system-binaries', path: dir, origin: 'system binary folder' };
    }
    yield {
      kind: 'unavailable',
      area: 'boot-sector',
      what: 'boot disk',
      reason: 'not applicable on macOS (Secure Boot; no MBR boot code)',
    };
  }
}
