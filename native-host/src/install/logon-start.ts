import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SandgateError, type DoctorCheck } from '@sandgate/shared';
import { singleTextValue } from '@sandgate/shared/reg-query';
import { writeFileAtomic } from '@sandgate/shared/durable-write';
import { sandgatePaths } from '../config/paths.ts';
import { SYSTEM_INSTALL_DIR } from './browsers.ts';
import { LAUNCHER_MARK } from './launcher.ts';
import { resolvePinnedNode } from './pinned-node.ts';

/**
 * How the agent starts on Windows: at the user's logon, from a Run key, not as a Windows service (docs/decisions.md
 * says why). The Run value runs `wscript.exe` on a small VBScript that starts `sandgate serve` with no window (node.exe
 * is a console program: run directly from the Run key it would keep a console window open for as long as the agent
 * runs), its output appended to the home's `logs\agent.log`. A per-user install uses HKCU and a script in
 * `$SANDGATE_HOME\bin`; a system-wide one HKLM and a script in `C:\ProgramData\Sandgate\bin`, which starts each
 * user's own agent, in that user's default home, at that user's logon (the agent is per user: its pipe, queue and key
 * are the user's). The native host still starts the agent on demand when it is not running.
 */
export type LogonScope = 'user' | 'system';
export type LogonTarget = { scope: 'user'; home: string } | { scope: 'system' };

const RUN_KEYS: Record<LogonScope, string> = {
  user: 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
  system: 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
};
export const RUN_VALUE = 'Sandgate';
export const LOGON_SCRIPT = 'sandgate-agent.vbs';

/** The `sandgate` bin shim, the same path from src/install and from the bundle (both two folders below native-host/). */
export const SANDGATE_ENTRY = fileURLToPath(new URL('../../bin/sandgate.mjs', import.meta.url));

const execFileP = promisify(execFile);

export function logonScriptPath(t: LogonTarget): string {
  return t.scope === 'user' ? join(sandgatePaths(t.home).bin, LOGON_SCRIPT) : win32.join(SYSTEM_INSTALL_DIR.win32, 'bin', LOGON_SCRIPT);
}

/** `wscript.exe //B //NoLogo SCRIPT`: //B keeps a failing script from showing a dialog at logon. */
export function runValueFor(script: string, env: NodeJS.ProcessEnv = process.env): string {
  const systemRoot = env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows';
  return `"${win32.join(systemRoot, 'System32', 'wscript.exe')}" //B //NoLogo "${script}"`;
}

// Neither VBScript nor cmd.exe can carry '"' or '%' through the line below; refuse rather than write a broken script.
const plain = (s: string) => {
  if (/["%\r\n]/.test(s)) throw new SandgateError('INSTALL_FAILED', `cannot put ${s} in the logon script`, { params: { path: s } });
  return s;
};

/** After a crash the agent is started again this long after, at most this many times in `RESTART_WINDOW_S`. */
export const RESTART_DELAY_MS = 5000;
export const RESTART_LIMIT = 5;
export const RESTART_WINDOW_S = 600;

/**
 * The VBScript: `cmd /c "set "SANDGATE_HOME=…" && "node" "sandgate.mjs" serve >> "agent.log" 2>&1"`, run hidden and
 * waited for. The home goes through cmd's `set`, not WshShell.Environment, which Wine's wscript does not implement.
 * An agent that exits (a crash, a kill) is started again after `RESTART_DELAY_MS`, as systemd's `Restart=` does on
 * Linux; more than `RESTART_LIMIT` exits within `RESTART_WINDOW_S` (an agent that cannot start: another one already
 * listens, a broken policy) and the script gives up until the next logon, the reason in the log. Every exit counts,
 * not only failures: the agent has no stop command that should stick for the session, and a forced end does not
 * always say it failed (Wine's `taskkill /F` ends a process with exit code 0).
 */
export function logonScript(o: { home?: string; nodePath: string; entry: string }): string {
  // cmd /c strips the outer pair of quotes from the line it is given; VBScript writes a quote as "".
  const serve = `"${plain(o.nodePath)}" "${plain(o.entry)}" serve`;
  let line: string;
  if (o.home !== undefined) {
    const log = win32.join(o.home, 'logs', 'agent.log');
    line = `cmd /c "set "SANDGATE_HOME=${plain(o.home)}" && ${serve} >> "${plain(log)}" 2>&1"`;
  } else {
    // System-wide: the user's default home (config/paths.ts), which cmd expands at each logon; >> needs the folder.
    const logs = '%LOCALAPPDATA%\\Sandgate\\logs';
    line = `cmd /c "(if not exist "${logs}" mkdir "${logs}") & ${serve} >> "${logs}\\agent.log" 2>&1"`;
  }
  return [
    `' ${LAUNCHER_MARK}; rewritten on every install. Starts the Sandgate agent at logon, without a window, and again after a crash.`,
    'Set shell = CreateObject("WScript.Shell")',
    'failures = 0',
    'since = Timer',
    'Do',
    `  shell.Run "${line.replace(/"/g, '""')}", 0, True`,
    // Timer counts seconds since midnight.
    '  elapsed = Timer - since',
    '  If elapsed < 0 Then elapsed = elapsed + 86400',
    `  If elapsed > ${RESTART_WINDOW_S} Then`,
    '    failures = 0',
    '    since = Timer',
    '  End If',
    '  failures = failures + 1',
    `  If failures > ${RESTART_LIMIT} Then Exit Do`,
    // Not WScript.Sleep or DateDiff: Wine's wscript has neither (the script stops there); ping -n N waits N-1 s on both.
    `  shell.Run "ping -n ${RESTART_DELAY_MS / 1000 + 1} 127.0.0.1", 0, True`,
    'Loop',
    '',
  ].join('\r\n');
}

export interface LogonStart {
  key: string;
  value: string;
  data: string;
  script: string;
}

/** Writes the logon script and sets the Run value (`reg add`); idempotent. Windows only. */
export async function registerLogonStart(o: { target: LogonTarget; nodePath?: string; dryRun?: boolean }): Promise<LogonStart> {
  const t = o.target;
  const key = RUN_KEYS[t.scope];
  const script = logonScriptPath(t);
  const result = { key, value: RUN_VALUE, data: runValueFor(script), script };
  const home = t.scope === 'user' ? t.home : undefined;
  const text = logonScript({ ...(home !== undefined ? { home } : {}), nodePath: o.nodePath ?? resolvePinnedNode(), entry: SANDGATE_ENTRY });
  if (o.dryRun) return result;
  try {
    await mkdir(win32.dirname(script), { recursive: true });
    // cmd's >> needs the folder; the agent writes its own files there too.
    if (home !== undefined) await mkdir(sandgatePaths(home).logs, { recursive: true });
    await writeFileAtomic(script, text, 0o644);
    await execFileP('reg', ['add', key, '/v', RUN_VALUE, '/t', 'REG_SZ', '/d', result.data, '/f'], { windowsHide: true });
  } catch (err) {
    if (err instanceof SandgateError) throw err;
    throw new SandgateError('INSTALL_FAILED', `could not register the agent's start at logon: ${(err as Error).message}`, {
      params: { key, value: RUN_VALUE },
      cause: err,
    });
  }
  return result;
}

/** The Run value as reg.exe reads it, or undefined when there is none. */
export async function readRunValue(scope: LogonScope = 'user'): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP('reg', ['query', RUN_KEYS[scope], '/v', RUN_VALUE], { windowsHide: true });
    return singleTextValue(stdout);
  } catch {
    return undefined;
  }
}

/**
 * Removes the Run value and the script, but only when the value runs this home's script: another home's (or another
 * program's) `Sandgate` value is left alone and said so.
 */
export async function unregisterLogonStart(o: {
  target: LogonTarget;
  dryRun?: boolean;
}): Promise<{ removed: string[]; kept: Array<{ path: string; reason: string }> }> {
  const key = RUN_KEYS[o.target.scope];
  const script = logonScriptPath(o.target);
  const removed: string[] = [];
  const kept: Array<{ path: string; reason: string }> = [];
  const data = await readRunValue(o.target.scope);
  const where = `${key}\\${RUN_VALUE}`;
  if (data !== undefined && !data.toLowerCase().includes(script.toLowerCase())) {
    kept.push({ path: where, reason: `runs ${data}, not this install's ${LOGON_SCRIPT}; left in place` });
  } else if (data !== undefined) {
    const deleted = o.dryRun
      ? true
      : await execFileP('reg', ['delete', key, '/v', RUN_VALUE, '/f'], { windowsHide: true }).then(
          () => true,
          () => false,
        );
    if (deleted) removed.push(where);
    else kept.push({ path: where, reason: 'reg delete failed; the agent still starts at logon' });
  }
  if (existsSync(script) && readFileSync(script, 'utf8').includes(LAUNCHER_MARK)) {
    if (!o.dryRun) await unlink(script);
    removed.push(script);
  }
  return { removed, kept };
}

/**
 * doctor's `service` check on Windows: is the agent's logon start registered, for this user (HKCU, this home's script)
 * or for every user (HKLM, the system-wide script), and does what it runs exist?
 */
export async function checkLogonStart(home: string): Promise<DoctorCheck> {
  const check = 'service';
  const fix = 'run sandgate install (per user, or --scope system as Administrator) to start the agent at logon';
  const found: string[] = [];
  for (const target of [{ scope: 'user', home }, { scope: 'system' }] as const) {
    const where = `${RUN_KEYS[target.scope]}\\${RUN_VALUE}`;
    const script = logonScriptPath(target);
    const data = await readRunValue(target.scope);
    if (data === undefined) continue;
    if (!data.toLowerCase().includes(script.toLowerCase())) {
      found.push(`${where} runs ${data}, not ${script}`);
      continue;
    }
    if (!existsSync(script))
      return { check, status: 'fail', code: 'AGENT_UNAVAILABLE', detail: `${where} runs ${script}, which is missing`, fix };
    return { check, status: 'ok', detail: `starts at logon: ${where} runs ${script}` };
  }
  if (found.length) return { check, status: 'warn', code: 'AGENT_UNAVAILABLE', detail: found.join('; '), fix };
  return {
    check,
    status: 'warn',
    code: 'AGENT_UNAVAILABLE',
    detail: `no logon start (neither ${RUN_KEYS.user} nor ${RUN_KEYS.system} has a value ${RUN_VALUE}); the agent is started on demand by the native host`,
    fix,
  };
}
