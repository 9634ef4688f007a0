import { statSync } from 'node:fs';
import type { RegistryDump } from '@sandgate/shared/reg-query';
import type { FileFinding, Finding } from './collector.ts';
import type { WindowsFiles } from './windows-files.ts';
import { expandWindowsPath, windowsCommandPaths } from './windows-paths.ts';

/** A registry export: key path (`HKLM\…`, `HKU\<SID>\…`) → value name → data (REG_SZ text, DWORD, REG_MULTI_SZ list). */
export type { RegistryDump };

/** Run-key locations (Autoruns "Logon"), under HKLM and every user hive. */
export const RUN_KEYS = [
  'Software\\Microsoft\\Windows\\CurrentVersion\\Run',
  'Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce',
  'Software\\Microsoft\\Windows\\CurrentVersion\\RunOnceEx',
  'Software\\Microsoft\\Windows\\CurrentVersion\\RunServices',
  'Software\\Microsoft\\Windows\\CurrentVersion\\RunServicesOnce',
  'Software\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run',
  'Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run',
  'Software\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce',
];
/** Single values that start programs: Winlogon Userinit/Shell, BootExecute, AppInit_DLLs, HKCU Windows\Load|Run. */
export const STARTUP_VALUES: Array<[key: string, value: string]> = [
  ['HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon', 'Userinit'],
  ['HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon', 'Shell'],
  ['HKLM\\System\\CurrentControlSet\\Control\\Session Manager', 'BootExecute'],
  ['HKLM\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows', 'AppInit_DLLs'],
];
export const SERVICES = 'HKLM\\System\\CurrentControlSet\\Services';
const START_MODES = ['boot', 'system', 'auto', 'demand', 'disabled'];

const TASKS = 'C:\\Windows\\System32\\Tasks';

/**
 * Windows Critical Areas over a registry (a dump: read live with `reg query`, or a JSON export in fixtures) and a file
 * system (live or a folder standing for C:\). Covered: Run/RunOnce keys (HKLM, WOW6432Node, every user hive),
 * Winlogon, BootExecute, AppInit_DLLs, services and drivers (ImagePath, ServiceDll), scheduled tasks (Tasks XML
 * `Exec`), startup folders (all users and per user), System32/SysWOW64, and the boot sector.
 */
export class WindowsAreas {
  private readonly files: WindowsFiles;
  private readonly registry: RegistryDump;
  private readonly physicalDrive: string | undefined;
  private readonly env: Record<string, string>;
  private readonly bootSectorReason: string;

  /** `physicalDrive`: what stands for \\.\PhysicalDrive0 (a file in fixtures); `env`: variables for `%…%` (lower-case names). */
  constructor(opts: {
    files: WindowsFiles;
    registry: RegistryDump;
    physicalDrive?: string;
    env?: Record<string, string>;
    bootSectorReason?: string;
  }) {
    this.bootSectorReason = opts.bootSectorReason ?? 'not readable (administrators only)';
    this.files = opts.files;
    this.registry = opts.registry;
    this.physicalDrive = opts.physicalDrive;
    this.env = opts.env ?? {};
  }

  private key(path: string): Record<string, string | number | string[]> | undefined {
    const want = path.toLowerCase();
    for (const [k, v] of Object.entries(this.registry)) if (k.toLowerCase() === want) return v;
    return undefined;
  }

  private file(winPath: string, area: string, origin: string): FileFinding | undefined {
    return this.files.file(expandWindowsPath(winPath, this.env), area, origin);
  }

  private *commandFiles(command: string, area: string, origin: string): Generator<FileFinding> {
    for (const p of windowsCommandPaths(command, this.env)) {
      const f = this.file(p, area, origin);
      if (f) yield f;
    }
  }

  async *collect(): AsyncGenerator<Finding> {
    const hives = [
      'HKLM',
      ...Object.keys(this.registry)
        .map((k) => /^HKU\\[^\\]+/i.exec(k)?.[0])
        .filter((h): h is string => !!h),
      'HKCU',
    ];
    for (const hive of [...new Set(hives)]) {
      for (const rel of RUN_KEYS) {
        const keyPath = `${hive}\\${rel}`;
        for (const [name, data] of Object.entries(this.key(keyPath) ?? {})) {
          if (typeof data !== 'string') continue;
          const origin = `${keyPath}\\${name}`;
          yield {
            kind: 'observation',
            area: 'registry-run',
            path: keyPath,
            origin,
            observation: { document: 'RegistryItem', path: keyPath, valueName: name, text: data },
          };
          yield* this.commandFiles(data, 'registry-run', origin);
        }
      }
    }
    for (const [keyPath, value] of STARTUP_VALUES) {
      const data = this.key(keyPath)?.[value];
      const texts = Array.isArray(data) ? data : typeof data === 'string' ? data.split(/[,;]/) : [];
      for (const t of texts) {
        if (!t.trim()) continue;
        yield {
          kind: 'observation',
          area: 'autostart',
          path: keyPath,
          origin: `${keyPath}\\${value}`,
          observation: { document: 'RegistryItem', path: keyPath, valueName: value, text: t },
        };
        yield* this.commandFiles(t, 'autostart', `${keyPath}\\${value}`);
      }
    }
    const prefix = `${SERVICES}\\`.toLowerCase();
    for (const [k, v] of Object.entries(this.registry)) {
      if (!k.toLowerCase().startsWith(prefix) || k.slice(prefix.length).includes('\\')) continue;
      const name = k.slice(prefix.length);
      const image = typeof v.ImagePath === 'string' ? v.ImagePath : undefined;
      const dll = this.key(`${k}\\Parameters`)?.ServiceDll;
      const mode = typeof v.Start === 'number' ? START_MODES[v.Start] : undefined;
      const paths = image ? windowsCommandPaths(image, this.env) : [];
      yield {
        kind: 'observation',
        area: 'service',
        path: paths[0] ?? k,
        origin: `service ${name}`,
        observation: {
          document: 'ServiceItem',
          name,
          ...(typeof v.DisplayName === 'string' ? { descriptiveName: v.DisplayName } : {}),
          ...(paths[0] ? { path: paths[0] } : {}),
          ...(image ? { arguments: image } : {}),
          ...(mode ? { mode } : {}),
        },
      };
      if (image) yield* this.commandFiles(image, 'service', `service ${name} ImagePath`);
      if (typeof dll === 'string') {
        const f = this.file(dll, 'service', `service ${name} ServiceDll`);
        if (f) yield f;
      }
    }
    yield* this.tasks(TASKS);
    const startup = [
      'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\Startup',
      ...this.files.list('C:\\Users').map((u) => `C:\\Users\\${u}\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup`),
    ];
    for (const dir of startup)
      if (this.files.isDirectory(dir))
        yield { kind: 'folder', area: 'user-startup', path: this.files.folderPath(dir), origin: 'startup folder' };
    for (const dir of ['C:\\Windows\\System32', 'C:\\Windows\\SysWOW64'])
      if (this.files.isDirectory(dir))
        yield { kind: 'folder', area: 'system-binaries', path: this.files.folderPath(dir), origin: 'system binary folder' };
    if (!this.physicalDrive) {
      yield { kind: 'unavailable', area: 'boot-sector', what: '\\\\.\\PhysicalDrive0', reason: this.bootSectorReason };
    } else {
      const st = statSync(this.physicalDrive);
      yield {
        kind: 'file',
        area: 'boot-sector',
        path: '\\\\.\\PhysicalDrive0',
        readPath: this.physicalDrive,
        stat: { dev: st.dev, ino: st.ino, size: 512, mtime: st.mtime, mtimeMs: st.mtimeMs },
        hashOptions: { limit: 512, allowDevice: true },
        origin: 'first 512 bytes of the boot disk',
      };
    }
  }

  /** Task Scheduler's XML definitions (UTF-16 on disk): each `<Exec><Command>` and its `<Arguments>`. */
  private *tasks(dir: string): Generator<Finding> {
    for (const name of this.files.list(dir)) {
      const p = `${dir}\\${name}`;
      if (this.files.isDirectory(p)) {
        yield* this.tasks(p);
        continue;
      }
      const def = this.file(p, 'scheduled-task', `scheduled task ${p.slice(TASKS.length)}`);
      const raw = def && this.files.read(p);
      if (!def || !raw) continue;
      yield def;
      const xml = raw[0] === 0xff && raw[1] === 0xfe ? raw.subarray(2).toString('utf16le') : raw.toString('utf8');
      const task = p.slice(TASKS.length);
      const decode = (s: string) =>
        s
          .replace(/&quot;/g, '"')
          .replace(/&apos;/g, "'")
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&');
      for (const m of xml.matchAll(/<Exec>([\s\S]*?)<\/Exec>/g)) {
        const cmd = decode(/<Command>([\s\S]*?)<\/Command>/.exec(m[1]!)?.[1]?.trim() ?? '');
        const args = decode(/<Arguments>([\s\S]*?)<\/Arguments>/.exec(m[1]!)?.[1]?.trim() ?? '');
        if (!cmd) continue;
        yield* this.commandFiles(`"${cmd.replace(/^"|"$/g, '')}" ${args}`, 'scheduled-task', `scheduled task ${task} Exec`);
      }
    }
  }
}
