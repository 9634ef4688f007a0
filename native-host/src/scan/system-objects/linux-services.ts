import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { ServiceObservation } from '../../ioc/observation.ts';
import type { Finding } from '../critical-areas/collector.ts';
import { COMMAND_SEARCH_PATH, splitCommand } from '../critical-areas/command-paths.ts';
import { HOME_UNIT_DIRS, SYSTEMD_SYSTEM_UNIT_DIRS, SYSTEMD_USER_UNIT_DIRS } from '../critical-areas/linux-autostart.ts';
import type { RootFs } from '../critical-areas/root-fs.ts';
import type { ActiveStates } from './systemd-active-states.ts';
import { serviceUnitSettings } from './systemd-unit-file.ts';

const AREA = 'service';
const ENABLE_DIR = /\.(wants|requires|upholds)$/;

/** Where unit files are looked for: the test seam, like the collectors' root. Each list highest precedence first. */
export interface SystemdUnitDirs {
  system: readonly string[];
  /** Read by every user's service manager. */
  user: readonly string[];
  /** Per user, relative to each home; read before `user`. */
  home: readonly string[];
}

export const DEFAULT_UNIT_DIRS: SystemdUnitDirs = { system: SYSTEMD_SYSTEM_UNIT_DIRS, user: SYSTEMD_USER_UNIT_DIRS, home: HOME_UNIT_DIRS };

interface Scope {
  label: string;
  home: string;
  dirs: string[];
  states: ActiveStates;
  /** Which units this scope reports (a home reports only what it defines or enables itself). */
  reports: (definedIn: string | undefined, enabledIn: string | undefined) => boolean;
}

type Definition = { masked: false; path: string; dir: string } | { masked: true; path: string; dir: string };

/**
 * systemd services as `ServiceItem` observations, from the unit files (systemd need not run): system units, the units
 * every user's manager reads, and each home's own. Mode from the files: `masked` (linked to /dev/null or empty),
 * `enabled` (named in a `*.wants/`, `*.requires/` or `*.upholds/` folder of its scope), `static` (no `[Install]`), else
 * `disabled`. Status (running or not) only systemd knows: asked through systemctl for system units when systemd runs;
 * otherwise absent, and the record and a note say so. Aliases (`dbus-org.…` links) are the unit they name, not another.
 */
export function* linuxServices(
  fs: RootFs,
  o: { dirs: SystemdUnitDirs; homes: readonly string[]; systemStates: ActiveStates },
): Generator<Finding> {
  const userStates: ActiveStates = { unknown: "user units' states are not read (each user's own service manager would have to be asked)" };
  const scopes: Scope[] = [
    { label: 'systemd unit', home: '/root', dirs: [...o.dirs.system], states: o.systemStates, reports: () => true },
    { label: 'systemd user unit (every user)', home: '%h', dirs: [...o.dirs.user], states: userStates, reports: () => true },
    ...o.homes.map((h): Scope => {
      const own = o.dirs.home.map((d) => `${h}/${d}`);
      return {
        label: `systemd user unit of ${h}`,
        home: h,
        dirs: [...own, ...o.dirs.user],
        states: userStates,
        reports: (definedIn, enabledIn) => own.includes(definedIn ?? '') || own.includes(enabledIn ?? ''),
      };
    }),
  ];
  const reported = { system: 0, user: 0 };
  for (const scope of scopes) {
    for (const f of scopeServices(fs, scope)) {
      reported[scope === scopes[0] ? 'system' : 'user']++;
      yield f;
    }
  }
  const notes: Array<[string, number, ActiveStates]> = [
    ['system', reported.system, o.systemStates],
    ['user', reported.user, userStates],
  ];
  for (const [which, n, states] of notes) {
    if (n && 'unknown' in states)
      yield {
        kind: 'unavailable',
        area: AREA,
        what: `the active state of ${n} ${which} unit(s)`,
        reason: `${states.unknown}: ServiceItem/status is absent for them`,
      };
  }
}

function* scopeServices(fs: RootFs, scope: Scope): Generator<Finding> {
  const dirs = distinctDirs(fs, scope.dirs);
  const defs = new Map<string, Definition>();
  const enabled = new Map<string, string>();
  for (const dir of dirs) {
    for (const name of fs.list(dir)) {
      const p = `${dir}/${name}`;
      if (name.endsWith('.service') && !defs.has(name)) {
        const r = fs.resolveLink(p);
        if (linksToDevNull(fs, p) || (r?.stat.isFile() && r.stat.size === 0)) defs.set(name, { masked: true, path: p, dir });
        // A link under another name is an alias of that unit, reported under its own name.
        else if (r?.stat.isFile() && basename(r.path) === name) defs.set(name, { masked: false, path: r.path, dir });
      } else if (ENABLE_DIR.test(name) && fs.lstat(p)?.isDirectory()) {
        for (const unit of fs.list(p)) if (unit.endsWith('.service') && !enabled.has(unit)) enabled.set(unit, dir);
      }
    }
  }
  const names = new Set([...defs.keys()].filter((n) => !n.endsWith('@.service')));
  for (const n of enabled.keys()) if (defs.has(templateOf(n) ?? n)) names.add(n);
  for (const name of [...names].sort()) {
    const def = defs.get(name) ?? defs.get(templateOf(name)!)!;
    if (!scope.reports(defs.get(name)?.dir, enabled.get(name))) continue;
    const unit = name.slice(0, -'.service'.length);
    const obs: ServiceObservation = { document: 'ServiceItem', name: unit };
    if (def.masked) obs.mode = 'masked';
    else {
      const texts: string[] = [];
      let unitRead = true;
      for (const p of [def.path, ...dropIns(fs, dirs, name)]) {
        const r = readUnitFile(fs, p);
        if ('text' in r) texts.push(r.text);
        else {
          unitRead &&= p !== def.path;
          yield { kind: 'unavailable', area: AREA, what: `${p} (${scope.label} ${name})`, reason: `${r.reason}: not read` };
        }
      }
      // An unreadable unit is still reported by name and by its enable links (padding a file must not hide it).
      const s = serviceUnitSettings(unitRead ? texts : [], { name, home: scope.home });
      const command = s.execStart[0];
      const program = command ? splitCommand(command)[0] : undefined;
      if (s.description) obs.descriptiveName = s.description;
      if (program) obs.path = programPath(fs, program);
      if (command) obs.arguments = command;
      if (enabled.has(name)) obs.mode = 'enabled';
      else if (unitRead) obs.mode = s.installable ? 'disabled' : 'static';
    }
    const state = 'states' in scope.states ? (scope.states.states.get(name) ?? 'inactive') : undefined;
    if (state) obs.status = state;
    yield {
      kind: 'observation',
      area: AREA,
      path: def.path,
      origin: `${scope.label} ${name} (${obs.mode ?? 'unit file not read'}, ${state ?? 'active state unknown'})`,
      observation: obs,
    };
  }
}

/** systemd's own limit on a unit file line; a longer unit file is not one systemd would load either. */
const MAX_UNIT_BYTES = 1024 * 1024;

/**
 * A unit file or drop-in, through its links (as systemd reads it), only when it ends at a regular file of sane size:
 * units in a user's home are the user's to plant, and a root scan must not block on a FIFO or read /dev/zero.
 */
function readUnitFile(fs: RootFs, path: string): { text: string } | { reason: string } {
  const r = fs.resolveLink(path);
  if (!r) return { reason: 'a dangling or looping link' };
  return fs.readRegular(r.path, MAX_UNIT_BYTES);
}

/** `systemctl mask` links a unit to /dev/null (read as written: a fixture has no /dev/null of its own). */
function linksToDevNull(fs: RootFs, p: string): boolean {
  try {
    return readlinkSync(fs.at(p)) === '/dev/null';
  } catch {
    return false;
  }
}

/** `getty@tty1.service` → `getty@.service`. */
function templateOf(name: string): string | undefined {
  const at = name.indexOf('@');
  return at > 0 && at < name.length - '.service'.length - 1 ? `${name.slice(0, at + 1)}.service` : undefined;
}

/** `<unit>.d/*.conf` of the template then the unit, across the scope's folders; a name in a folder of higher precedence wins. */
function dropIns(fs: RootFs, dirs: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (const unit of [templateOf(name), name].filter((u): u is string => !!u)) {
    const byName = new Map<string, string>();
    for (const dir of dirs)
      for (const f of fs.list(`${dir}/${unit}.d`)) if (f.endsWith('.conf') && !byName.has(f)) byName.set(f, `${dir}/${unit}.d/${f}`);
    out.push(...[...byName.keys()].sort().map((f) => byName.get(f)!));
  }
  return out;
}

/** An absolute program as written; a bare name as systemd finds it in its search path (left bare when not found). */
function programPath(fs: RootFs, program: string): string {
  if (program.includes('/')) return program;
  const found = COMMAND_SEARCH_PATH.find((d) => fs.lstat(`${d}/${program}`));
  return found ? `${found}/${program}` : program;
}

/** The folders that exist, each once (/lib is /usr/lib on merged-/usr systems). */
function distinctDirs(fs: RootFs, dirs: readonly string[]): string[] {
  const seen = new Set<string>();
  return dirs.filter((d) => {
    const st = fs.lstat(d);
    if (!st?.isDirectory() || seen.has(`${st.dev}:${st.ino}`)) return false;
    seen.add(`${st.dev}:${st.ino}`);
    return true;
  });
}
