import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { RootFs } from '../critical-areas/root-fs.ts';

/** Unit name (`cups.service`) → systemd's active state (`active`, `inactive`, `failed`, `activating`…), or why there is none. */
export type ActiveStates = { states: ReadonlyMap<string, string> } | { unknown: string };

const SYSTEMCTL = ['/usr/bin/systemctl', '/bin/systemctl'];

/** sd_booted(3): systemd is the running init exactly when this folder exists. */
export function systemdRunning(fs: RootFs): boolean {
  return fs.lstat('/run/systemd/system')?.isDirectory() === true;
}

/**
 * `systemctl list-units --all --type=service --plain --no-legend` lines: `UNIT LOAD ACTIVE SUB DESCRIPTION…`. Lines of
 * another shape are left out rather than read wrong.
 */
export function parseListUnits(text: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 4 && f[0]!.endsWith('.service') && /^[a-z-]+$/.test(f[2]!)) states.set(f[0]!, f[2]!);
  }
  return states;
}

/**
 * The system units' active states, asked of systemd (unit files cannot say whether a service runs). Not asked when
 * systemd does not run (a container, another init): then every unit's state is unknown, and the reason says so.
 */
export function systemActiveStates(fs: RootFs): ActiveStates {
  if (!systemdRunning(fs)) return { unknown: 'systemd is not running here (no /run/systemd/system)' };
  // From the system's folders, not $PATH: a scan run as root must not run whatever `systemctl` a PATH names first.
  const systemctl = SYSTEMCTL.find((p) => existsSync(p));
  if (!systemctl) return { unknown: `systemctl was not found (${SYSTEMCTL.join(', ')})` };
  try {
    const out = execFileSync(systemctl, ['list-units', '--all', '--type=service', '--plain', '--no-legend', '--no-pager', '--full'], {
      encoding: 'utf8',
      timeout: 15_000,
      maxBuffer: 16 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SYSTEMD_COLORS: '0', LC_ALL: 'C' },
    });
    return { states: parseListUnits(out) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    return { unknown: `systemctl list-units failed (${e.code ?? (e.stderr?.trim().split('\n')[0] || e.message)})` };
  }
}
