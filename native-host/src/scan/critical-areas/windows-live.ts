import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import type { CriticalAreaCollector, Finding } from './collector.ts';
import { RUN_KEYS, SERVICES, STARTUP_VALUES, WindowsAreas, type RegistryDump } from './windows-areas.ts';
import { LiveWindowsFiles } from './windows-files.ts';
import { csvFields, decodeOutput, windowsProcesses } from './windows-processes.ts';
import { regQuery, type RegRead } from './windows-reg-query.ts';

export interface WindowsLiveOptions {
  /** Seams (tests): how a key is read, and the process and driver areas. */
  query?: (key: string, args?: readonly string[]) => Promise<RegRead>;
  processes?: () => AsyncIterable<Finding>;
  drivers?: () => AsyncIterable<Finding>;
}

/** Runs a Windows tool, its output decoded, or why it failed. */
function tool(cmd: string, args: string[]): Promise<{ text: string } | { reason: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { windowsHide: true, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ text: decodeOutput(stdout) });
      const said = `${decodeOutput(stderr)}${decodeOutput(stdout)}`.trim().split(/\r?\n/)[0];
      resolve({ reason: `${cmd}: ${said || (err as NodeJS.ErrnoException).code || err.message}` });
    });
  });
}

/**
 * Loaded drivers as `driverquery /v /fo csv /nh` shows them to this user (Module Name, …, State at 5, …, Path at 13):
 * each running driver's file. Where the tool is missing or refuses, the area says so.
 */
export async function* windowsDrivers(): AsyncGenerator<Finding> {
  const r = await tool('driverquery', ['/v', '/fo', 'csv', '/nh']);
  if ('reason' in r) {
    yield { kind: 'unavailable', area: 'driver', what: 'loaded drivers', reason: r.reason };
    return;
  }
  let rows = 0;
  for (const line of r.text.split(/\r?\n/)) {
    const f = csvFields(line.trim());
    if (f.length < 14) continue;
    rows++;
    if (!/^running$/i.test(f[5]!)) continue;
    const path = f[13]!;
    let st;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (st?.isFile()) yield { kind: 'file', area: 'driver', path, stat: st, origin: `loaded driver ${f[0]}` };
    else yield { kind: 'unavailable', area: 'driver', what: `${path} (driver ${f[0]})`, reason: 'not readable as this user' };
  }
  if (rows === 0) yield { kind: 'unavailable', area: 'driver', what: 'loaded drivers', reason: 'driverquery listed none' };
}

const PROFILES = 'HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';

/**
 * This user's SID, so HKCU is not read a second time as `HKU\<SID>`: the profile whose ProfileImagePath is
 * %USERPROFILE% (`whoami /user` would say it on Windows, but Wine's whoami ignores `/user`).
 */
export function ownSid(profiles: RegistryDump, userProfile: string | undefined): string | undefined {
  if (!userProfile) return undefined;
  for (const [key, values] of Object.entries(profiles)) {
    const sid = /\\(S-1-5-21-[\d-]+)$/i.exec(key)?.[1];
    const home = values.ProfileImagePath;
    if (sid && typeof home === 'string' && home.toLowerCase() === userProfile.toLowerCase()) return sid;
  }
  return undefined;
}

/**
 * Windows Critical Areas from the live system (Windows only): the registry read with `reg query` (Run/RunOnce keys of
 * HKLM, HKCU and every other loaded user hive; Winlogon, BootExecute, AppInit_DLLs; services and drivers under
 * `HKLM\System\CurrentControlSet\Services`), the drive through Node's fs (scheduled tasks' definitions, startup
 * folders, System32/SysWOW64), running processes (wmic, else tasklist) and loaded drivers (driverquery). A key or
 * tool that cannot be read is an `unavailable` finding with what it said; an absent key is simply empty.
 */
export class WindowsCriticalAreasLive implements CriticalAreaCollector {
  readonly name = 'windows';
  readonly runnableHere = process.platform === 'win32';
  private readonly opts: WindowsLiveOptions;

  constructor(opts: WindowsLiveOptions = {}) {
    this.opts = opts;
  }

  async *collect(): AsyncGenerator<Finding> {
    const query = this.opts.query ?? regQuery;
    const registry: RegistryDump = {};
    const unavailable: Finding[] = [];
    const read = async (key: string, args: readonly string[], area: string) => {
      const r = await query(key, args);
      if (r.ok) Object.assign(registry, r.dump);
      else if (!r.absent) unavailable.push({ kind: 'unavailable', area, what: key, reason: `not readable (${r.reason})` });
    };
    const [users, profiles] = await Promise.all([query('HKU'), query(PROFILES, ['/s'])]);
    const me = ownSid(profiles.ok ? profiles.dump : {}, process.env.USERPROFILE);
    const hives = [
      'HKLM',
      'HKCU',
      ...(users.ok ? Object.keys(users.dump) : [])
        .filter((k) => /^HKU\\S-1-5-21-[\d-]+$/i.test(k))
        .filter((k) => !me || k.slice(4).toLowerCase() !== me.toLowerCase()),
    ];
    const jobs: Array<() => Promise<void>> = [
      ...hives.flatMap((h) => RUN_KEYS.map((rel) => () => read(`${h}\\${rel}`, ['/s'], 'registry-run'))),
      ...STARTUP_VALUES.map(
        ([key, value]) =>
          () =>
            read(key, ['/v', value], 'autostart'),
      ),
      () => read(SERVICES, ['/s'], 'service'),
    ];
    // A few at a time: each is a process.
    for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map((j) => j()));
    yield* unavailable;
    const env = Object.fromEntries(Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), v]])));
    yield* new WindowsAreas({
      files: new LiveWindowsFiles(),
      registry,
      env,
      bootSectorReason: 'not read (\\\\.\\PhysicalDrive0 needs an administrator, and the live collector does not open it yet)',
    }).collect();
    yield* (this.opts.processes ?? windowsProcesses)();
    yield* (this.opts.drivers ?? windowsDrivers)();
  }
}
