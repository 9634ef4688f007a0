import type { FileFinding, Finding } from './collector.ts';
import { commandFiles, fileAt } from './named-files.ts';
import type { RootFs } from './root-fs.ts';

const AREA = 'autostart';

export const SYSTEMD_SYSTEM_UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
];
export const SYSTEMD_USER_UNIT_DIRS = ['/etc/systemd/user', '/usr/local/lib/systemd/user', '/usr/lib/systemd/user'];
export const HOME_UNIT_DIRS = ['.config/systemd/user', '.local/share/systemd/user'];
export const SYSTEM_PROFILES = [
  '/etc/profile',
  '/etc/bash.bashrc',
  '/etc/bashrc',
  '/etc/environment',
  '/etc/zsh/zshrc',
  '/etc/zsh/zprofile',
  '/etc/zsh/zshenv',
  '/etc/zsh/zlogin',
  '/etc/zshrc',
  '/etc/zprofile',
];
export const HOME_PROFILES = [
  '.profile',
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.zshrc',
  '.zprofile',
  '.zshenv',
  '.zlogin',
];
const UNIT_SUFFIX = /\.(service|socket|timer|path|mount|automount|target)$/;
const EXEC_KEY = /^\s*(ExecStart|ExecStartPre|ExecStartPost|ExecReload|ExecStop|ExecStopPost|ExecCondition)\s*=\s*(.*)$/;

/** An `Exec*=` value without systemd's prefixes (`@-:+!|`); with `@`, the second word is argv[0], not a file: dropped. */
export function stripExecPrefixes(value: string): string {
  let cmd = value.trim();
  const prefix = /^[@\-:+!|]+/.exec(cmd)?.[0] ?? '';
  cmd = cmd.slice(prefix.length).trim();
  return prefix.includes('@') ? cmd.replace(/^(\S+)\s+\S+/, '$1') : cmd;
}

/** `ExecStart=` values of a unit file, with systemd's prefixes (`@-:+!`) removed and `\` continuations joined. */
export function unitExecCommands(text: string): Array<{ key: string; command: string }> {
  const out: Array<{ key: string; command: string }> = [];
  for (const line of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const m = EXEC_KEY.exec(line);
    if (!m || !m[2]!.trim()) continue;
    out.push({ key: m[1]!, command: stripExecPrefixes(m[2]!) });
  }
  return out;
}

/** Commands of a crontab. `withUser`: the system format with a user column (/etc/crontab, /etc/cron.d/*). */
export function crontabCommands(text: string, withUser: boolean): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line)) continue;
    const words = line.split(/\s+/);
    const timeFields = words[0]!.startsWith('@') ? 1 : 5;
    const skip = timeFields + (withUser ? 1 : 0);
    if (words.length <= skip) continue;
    // Re-cut the original line after the fields, so quoting in the command survives.
    let rest = line;
    for (let i = 0; i < skip; i++) rest = rest.replace(/^\S+\s+/, '');
    out.push(rest);
  }
  return out;
}

/** `Exec=` and `TryExec=` of a .desktop file's main section. */
export function desktopExecCommands(text: string): string[] {
  const out: string[] = [];
  let main = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) main = line === '[Desktop Entry]';
    const m = main ? /^(Exec|TryExec)\s*=\s*(.+)$/.exec(line) : null;
    if (m) out.push(m[2]!);
  }
  return out;
}

/** Entries of /etc/ld.so.preload: libraries loaded into every dynamically linked program. */
export function preloadEntries(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, ''))
    .flatMap((l) => l.split(/[\s:]+/))
    .filter((p) => p.startsWith('/'));
}

/**
 * Linux autostart: systemd units (system and user, with drop-ins and the enable links in *.wants/), cron, rc.local
 * and init.d, shell profiles, XDG autostart, /etc/ld.so.preload. Yields the configuration files themselves and the
 * files they start.
 */
export function* linuxAutostart(fs: RootFs, homes: readonly string[]): Generator<Finding> {
  const seen = new Set<string>();
  const emit = function* (f: FileFinding | undefined): Generator<Finding> {
    if (!f || seen.has(f.path + '\0' + f.origin)) return;
    seen.add(f.path + '\0' + f.origin);
    yield f;
  };

  // systemd
  const unitDirs = [
    ...SYSTEMD_SYSTEM_UNIT_DIRS,
    ...SYSTEMD_USER_UNIT_DIRS,
    ...homes.flatMap((h) => HOME_UNIT_DIRS.map((d) => `${h}/${d}`)),
  ];
  const seenDirs = new Set<string>();
  const seenUnits = new Set<string>();
  const unit = function* (path: string): Generator<Finding> {
    const f = fileAt(fs, path, AREA, `systemd unit ${path}`);
    if (!f || seenUnits.has(f.path)) return;
    seenUnits.add(f.path);
    yield* emit(f);
    for (const { key, command } of unitExecCommands(fs.readText(f.path) ?? '')) {
      for (const t of commandFiles(fs, command, AREA, `systemd unit ${f.path} ${key}`)) yield* emit(t);
    }
  };
  for (const dir of unitDirs) {
    const st = fs.lstat(dir);
    // /lib is a link to /usr/lib on merged-/usr systems: the same folder is read once.
    if (!st?.isDirectory() || seenDirs.has(`${st.dev}:${st.ino}`)) continue;
    seenDirs.add(`${st.dev}:${st.ino}`);
    for (const name of fs.list(dir)) {
      const p = `${dir}/${name}`;
      const est = fs.lstat(p);
      if (!est) continue;
      if (UNIT_SUFFIX.test(name)) yield* unit(p);
      else if (est.isDirectory() && /\.(wants|requires|d)$/.test(name)) {
        for (const inner of fs.list(p)) {
          if (name.endsWith('.d') && inner.endsWith('.conf')) yield* unit(`${p}/${inner}`);
          else if (UNIT_SUFFIX.test(inner)) yield* unit(`${p}/${inner}`);
        }
      }
    }
  }

  // cron and at
  for (const [path, withUser] of [
    ['/etc/crontab', true],
    ['/etc/anacrontab', false],
  ] as const) {
    const f = fileAt(fs, path, AREA, 'cron');
    if (!f) continue;
    yield* emit(f);
    const text = fs.readText(path) ?? '';
    // anacrontab: period delay job-id command, the same cut as a crontab with three time fields and no user.
    const cmds =
      path === '/etc/anacrontab'
        ? text
            .split('\n')
            .filter((l) => /^\s*[@\d]/.test(l))
            .map((l) => l.trim().split(/\s+/).slice(3).join(' '))
        : crontabCommands(text, withUser);
    for (const c of cmds) for (const t of commandFiles(fs, c, AREA, `cron ${path}`)) yield* emit(t);
  }
  const crontabDirs: Array<[string, boolean]> = [
    ['/etc/cron.d', true],
    ['/var/spool/cron/crontabs', false],
    ['/var/spool/cron', false],
  ];
  for (const [dir, withUser] of crontabDirs) {
    for (const name of fs.list(dir)) {
      const p = `${dir}/${name}`;
      const f = fileAt(fs, p, AREA, 'cron');
      if (!f || name.startsWith('.')) continue;
      yield* emit(f);
      for (const c of crontabCommands(fs.readText(p) ?? '', withUser))
        for (const t of commandFiles(fs, c, AREA, `cron ${p}`)) yield* emit(t);
    }
  }
  for (const dir of [
    '/etc/cron.hourly',
    '/etc/cron.daily',
    '/etc/cron.weekly',
    '/etc/cron.monthly',
    '/var/spool/cron/atjobs',
    '/etc/init.d',
  ]) {
    for (const name of fs.list(dir))
      yield* emit(fileAt(fs, `${dir}/${name}`, AREA, dir.startsWith('/etc/init.d') ? 'init script' : 'cron'));
  }

  // rc.local: run at boot by systemd's rc-local generator when executable
  const rc = fileAt(fs, '/etc/rc.local', AREA, 'rc.local');
  if (rc) {
    yield* emit(rc);
    for (const line of (fs.readText('/etc/rc.local') ?? '').split('\n')) {
      if (line.trim().startsWith('#')) continue;
      for (const t of commandFiles(fs, line, AREA, 'rc.local')) yield* emit(t);
    }
  }

  // shell profiles
  for (const p of SYSTEM_PROFILES) yield* emit(fileAt(fs, p, AREA, 'shell profile'));
  for (const name of fs.list('/etc/profile.d')) yield* emit(fileAt(fs, `/etc/profile.d/${name}`, AREA, 'shell profile'));
  for (const h of homes) for (const p of HOME_PROFILES) yield* emit(fileAt(fs, `${h}/${p}`, AREA, 'shell profile'));

  // XDG autostart
  for (const dir of ['/etc/xdg/autostart', ...homes.map((h) => `${h}/.config/autostart`)]) {
    for (const name of fs.list(dir)) {
      if (!name.endsWith('.desktop')) continue;
      const p = `${dir}/${name}`;
      const f = fileAt(fs, p, AREA, 'XDG autostart');
      if (!f) continue;
      yield* emit(f);
      for (const c of desktopExecCommands(fs.readText(p) ?? ''))
        for (const t of commandFiles(fs, c, AREA, `XDG autostart ${p} Exec`)) yield* emit(t);
    }
  }

  // ld.so.preload
  const pre = fileAt(fs, '/etc/ld.so.preload', AREA, 'ld.so.preload');
  if (pre) {
    yield* emit(pre);
    for (const lib of preloadEntries(fs.readText('/etc/ld.so.preload') ?? '')) {
      const f = fileAt(fs, lib, AREA, 'ld.so.preload entry');
      if (f) yield* emit(f);
      else yield { kind: 'unavailable', area: AREA, what: `${lib} (named by /etc/ld.so.preload)`, reason: 'missing or not a regular file' };
    }
  }
}
