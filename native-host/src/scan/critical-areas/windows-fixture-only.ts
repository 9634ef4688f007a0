import { readFileSync, statSync } from 'node:fs';
import type { CriticalAreaCollector, FileFinding, Finding } from './collector.ts';
import { fileAt } from './named-files.ts';
import { RootFs } from './root-fs.ts';

/** A registry export: key path (`HKLM\…`, `HKU\<SID>\…`) → value name → data (REG_SZ text, DWORD, REG_MULTI_SZ list). */
export type RegistryDump = Record<string, Record<string, string | number | string[]>>;

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
const SERVICES = 'HKLM\\System\\CurrentControlSet\\Services';
const START_MODES = ['boot', 'system', 'auto', 'demand', 'disabled'];

/** `%SystemRoot%`, `\SystemRoot\`, `\??\` and driver-relative paths, made absolute (`C:\…`). */
export function expandWindowsPath(p: string, env: Record<string, string> = {}): string {
  const vars: Record<string, string> = {
    systemroot: 'C:\\Windows',
    windir: 'C:\\Windows',
    systemdrive: 'C:',
    programfiles: 'C:\\Program Files',
    programdata: 'C:\\ProgramData',
    ...env,
  };
  let s = p.replace(/%([^%]+)%/g, (m, v: string) => vars[v.toLowerCase()] ?? m);
  s = s.replace(/^\\\?\?\\/, '').replace(/^\\SystemRoot\\/i, 'C:\\Windows\\');
  if (/^system32\\/i.test(s)) s = `C:\\Windows\\${s}`;
  return s;
}

/** The files a Windows command line names: its program (quoted or not) and every `X:\…` path among the arguments. */
export function windowsCommandPaths(command: string): string[] {
  const c = command.trim();
  const out: string[] = [];
  let rest: string;
  if (c.startsWith('"')) {
    const end = c.indexOf('"', 1);
    out.push(c.slice(1, end < 0 ? undefined : end));
    rest = end < 0 ? '' : c.slice(end + 1);
  } else {
    // Unquoted: the shortest prefix ending in an executable extension, else the first word (as CreateProcess tries).
    const m = /^(.+?\.(exe|com|bat|cmd|scr|dll|sys|ps1|vbs|js))(\s|$|,)/i.exec(c);
    const first = m ? m[1]! : c.split(/\s+/)[0]!;
    out.push(first);
    rest = c.slice(first.length);
  }
  for (const m of rest.matchAll(/"([A-Za-z]:\\[^"]+)"|([A-Za-z]:\\[^\s,"]+)/g)) out.push(m[1] ?? m[2]!);
  return out.map((p) => expandWindowsPath(p));
}

/**
 * Windows Critical Areas, designed behind the same interface and tested on fixtures (a JSON registry export and a
 * folder standing for C:\). NOT RUNNABLE HERE: this machine is Linux; on Windows the registry would be read live
 * (`reg query` / a native addon), the process list from the Toolhelp snapshot, and the boot sector from
 * `\\.\PhysicalDrive0` (administrators only). Covered: Run/RunOnce keys (HKLM, WOW6432Node, every user hive), Winlogon,
 * BootExecute, AppInit_DLLs, services and drivers (ImagePath, ServiceDll), scheduled tasks (Tasks XML `Exec`), startup
 * folders (all users and per user), System32/SysWOW64, and the boot sector.
 */
export class WindowsCriticalAreasFixtureOnly implements CriticalAreaCollector {
  readonly name = 'windows (fixture only)';
  readonly runnableHere = false;
  private readonly fs: RootFs;
  private readonly registry: RegistryDump;
  private readonly physicalDrive: string | undefined;

  /** `root` stands for C:\; `physicalDrive` for \\.\PhysicalDrive0 (a file in fixtures). */
  constructor(opts: { root: string; registry: RegistryDump; physicalDrive?: string }) {
    this.fs = new RootFs(opts.root);
    this.registry = opts.registry;
    this.physicalDrive = opts.physicalDrive;
  }

  private key(path: string): Record<string, string | number | string[]> | undefined {
    const want = path.toLowerCase();
    for (const [k, v] of Object.entries(this.registry)) if (k.toLowerCase() === want) return v;
    return undefined;
  }

  private file(winPath: string, area: string, origin: string): FileFinding | undefined {
    const abs = expandWindowsPath(winPath);
    if (!/^[A-Za-z]:\\/.test(abs)) return undefined;
    const f = fileAt(this.fs, this.caseInsensitive(abs.slice(2).replace(/\\/g, '/')), area, origin);
    return f && { ...f, path: abs };
  }

  /** Windows paths ignore case: find each component whatever its case (`system32` is `System32`). */
  private caseInsensitive(path: string): string {
    let real = '';
    for (const part of path.split('/').filter(Boolean)) {
      const names = this.fs.list(real || '/');
      real += '/' + (names.includes(part) ? part : (names.find((n) => n.toLowerCase() === part.toLowerCase()) ?? part));
    }
    return real;
  }

  private *commandFiles(command: string, area: string, origin: string): Generator<FileFinding> {
    for (const p of windowsCommandPaths(command)) {
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
      const paths = image ? windowsCommandPaths(image) : [];
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
    yield* this.tasks('/Windows/System32/Tasks');
    const startup = [
      '/ProgramData/Microsoft/Windows/Start Menu/Programs/Startup',
      ...this.fs.list('/Users').map((u) => `/Users/${u}/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup`),
    ];
    for (const dir of startup)
      if (this.fs.lstat(dir)?.isDirectory()) yield { kind: 'folder', area: 'user-startup', path: dir, origin: 'startup folder' };
    for (const dir of ['/Windows/System32', '/Windows/SysWOW64'])
      if (this.fs.lstat(dir)?.isDirectory()) yield { kind: 'folder', area: 'system-binaries', path: dir, origin: 'system binary folder' };
    if (!this.physicalDrive) {
      yield { kind: 'unavailable', area: 'boot-sector', what: '\\\\.\\PhysicalDrive0', reason: 'not readable (administrators only)' };
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
    for (const name of this.fs.list(dir)) {
      const p = `${dir}/${name}`;
      const st = this.fs.lstat(p);
      if (st?.isDirectory()) {
        yield* this.tasks(p);
        continue;
      }
      if (!st?.isFile()) continue;
      const raw = readFileSync(this.fs.at(p));
      const xml = raw[0] === 0xff && raw[1] === 0xfe ? raw.subarray(2).toString('utf16le') : raw.toString('utf8');
      const task = p.slice('/Windows/System32/Tasks'.length).replace(/\//g, '\\');
      const def = this.file(`C:${p.replace(/\//g, '\\')}`, 'scheduled-task', `scheduled task ${task}`);
      if (def) yield def;
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
