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
import { LAUNCHER_MARK } from './launcher.ts';
import { resolvePinnedNode } from './pinned-node.ts';

/**
 * How the agent starts on Windows: at the user's logon, from the per-user Run key, not as a Windows service
 * (docs/decisions.md says why). The Run value runs `wscript.exe` on a small VBScript in `$SANDGATE_HOME\bin` that
 * starts `sandgate serve` with no window (node.exe is a console program: run directly from the Run key it would keep
 * a console window open for as long as the agent runs), its output appended to `logs\agent.log`. The native host
 * still starts the agent on demand when it is not running.
 */
export const RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
export const RUN_VALUE = 'Sandgate';
export const LOGON_SCRIPT = 'sandgate-agent.vbs';

/** The `sandgate` bin shim, the same path from src/install and from the bundle (both two folders below native-host/). */
export const SANDGATE_ENTRY = fileURLToPath(new URL('../../bin/sandgate.mjs', import.meta.url));

const execFileP = promisify(execFile);

export function logonScriptPath(home: string): string {
  return join(sandgatePaths(home).bin, LOGON_SCRIPT);
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
export function logonScript(o: { home: string; nodePath: string; entry: string }): string {
  const log = win32.join(o.home, 'logs', 'agent.log');
  // cmd /c strips the outer pair of quotes from the line it is given; VBScript writes a quote as "".
  const line = `cmd /c "set "SANDGATE_HOME=${plain(o.home)}" && "${plain(o.nodePath)}" "${plain(o.entry)}" serve >> "${plain(log)}" 2>&1"`;
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
export async function registerLogonStart(o: { home: string; nodePath?: string; dryRun?: boolean }): Promise<LogonStart> {
  const script = logonScriptPath(o.home);
  const result = { key: RUN_KEY, value: RUN_VALUE, data: runValueFor(script), script };
  const text = logonScript({ home: o.home, nodePath: o.nodePath ?? resolvePinnedNode(), entry: SANDGATE_ENTRY });
  if (o.dryRun) return result;
  try {
    await mkdir(sandgatePaths(o.home).bin, { recursive: true });
    // cmd's >> needs the folder; the agent writes its own files there too.
    await mkdir(sandgatePaths(o.home).logs, { recursive: true });
    await writeFileAtomic(script, text, 0o644);
    await execFileP('reg', ['add', RUN_KEY, '/v', RUN_VALUE, '/t', 'REG_SZ', '/d', result.data, '/f'], { windowsHide: true });
  } catch (err) {
    if (err instanceof SandgateError) throw err;
    throw new SandgateError('INSTALL_FAILED', `could not register the agent's start at logon: ${(err as Error).message}`, {
      params: { key: RUN_KEY, value: RUN_VALUE },
      cause: err,
    });
  }
  return result;
}

/** The Run value as reg.exe reads it, or undefined when there is none. */
export async function readRunValue(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP('reg', ['query', RUN_KEY, '/v', RUN_VALUE], { windowsHide: true });
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
  home: string;
  dryRun?: boolean;
}): Promise<{ removed: string[]; kept: Array<{ path: string; reason: string }> }> {
  const script = logonScriptPath(o.home);
  const removed: string[] = [];
  const kept: Array<{ path: string; reason: string }> = [];
  const data = await readRunValue();
  const where = `${RUN_KEY}\\${RUN_VALUE}`;
  if (data !== undefined && !data.toLowerCase().includes(script.toLowerCase())) {
    kept.push({ path: where, reason: `runs ${data}, not this home's ${LOGON_SCRIPT}; left in place` });
  } else if (data !== undefined) {
    const deleted = o.dryRun
      ? true
      : await execFileP('reg', ['delete', RUN_KEY, '/v', RUN_VALUE, '/f'], { windowsHide: true }).then(
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

/** doctor's `service` check on Windows: is the agent's logon start registered, and does what it runs exist? */
export async function checkLogonStart(home: string): Promise<DoctorCheck> {
  const check = 'service';
  const script = logonScriptPath(home);
  const data = await readRunValue();
  const fix = 'run sandgate install (per user) to start the agent at logon';
  if (data === undefined)
    return {
      check,
      status: 'warn',
      code: 'AGENT_UNAVAILABLE',
      detail: `no logon start (${RUN_KEY} has no value ${RUN_VALUE}); the agent is started on demand by the native host`,
      fix,
    };
  if (!data.toLowerCase().includes(script.toLowerCase()))
    return { check, status: 'warn', code: 'AGENT_UNAVAILABLE', detail: `${RUN_KEY}\\${RUN_VALUE} runs ${data}, not ${script}`, fix };
  if (!existsSync(script))
    return { check, status: 'fail', code: 'AGENT_UNAVAILABLE', detail: `${RUN_KEY}\\${RUN_VALUE} runs ${script}, which is missing`, fix };
  return { check, status: 'ok', detail: `starts at logon: ${RUN_KEY}\\${RUN_VALUE} runs ${script}` };
}
