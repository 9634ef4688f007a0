import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { resolve, win32 } from 'node:path';
import { SandgateError, type InstallPlan } from '@sandgate/shared';
import { BROWSERS, isBrowser, type Browser, type InstallPlatform, type InstallScope } from '../install/browsers.ts';
import { installNativeHost, uninstallNativeHost, type InstallOptions } from '../install/install.ts';
import { registerLogonStart, unregisterLogonStart, type LogonTarget } from '../install/logon-start.ts';
import { findPolicyFile, parsePolicyText } from '../config/load-policy.ts';
import { parseCommand, type CommandContext } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';

export const INSTALL_HELP = `usage: sandgate install [--browser chrome|chromium|edge|brave|firefox|all] [--scope user|system] [--profile-dir DIR]
                       [--home DIR] [--os linux|macos|windows] [--root DIR] [--dry-run] [--json]
       sandgate uninstall [same options]

Registers (or removes) the native messaging host org.sandgate.agent for the chosen browsers (default: all, user scope).

  --scope user      the user's browser folders (Windows: HKCU keys); the launcher goes to $SANDGATE_HOME/bin
  --scope system    the system-wide folders (Windows: HKLM keys); needs root/Administrator
  --profile-dir DIR a Chromium-family browser started with --user-data-dir=DIR: writes DIR/NativeMessagingHosts
                    (Firefox has no such folder)
  --home DIR        the user's home folder the per-user locations are under (default: yours)
  --os OS           plan for another OS; on Windows the registry can only be written there, so elsewhere --dry-run
  --root DIR        write system-wide files under DIR (a packaging staging folder); manifests name the final paths
  --dry-run         print what would be written (files, folders, registry keys) and do nothing

On Windows, a per-user install (no --profile-dir) also starts the agent at logon: the value Sandgate under
HKCU\Software\Microsoft\Windows\CurrentVersion\Run runs $SANDGATE_HOME\bin\sandgate-agent.vbs, which starts
sandgate serve without a window. uninstall --browser all removes both.

The manifests allow Sandgate's extension IDs plus the policy's extension.additionalIds. uninstall removes exactly what
install wrote (recorded in install-receipt.json) and leaves any file changed since.
`;

const OPTIONS = {
  browser: { type: 'string' },
  scope: { type: 'string' },
  'profile-dir': { type: 'string' },
  home: { type: 'string' },
  os: { type: 'string' },
  root: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

const OS_NAMES: Record<string, InstallPlatform> = { linux: 'linux', macos: 'darwin', darwin: 'darwin', windows: 'win32', win32: 'win32' };

type Values = Record<string, string | boolean | undefined>;

/** Turns the command line into install options; shared by install, uninstall and doctor. */
export function installOptions(io: CliIo, ctx: CommandContext, values: Values, extraIds: string[] = []): InstallOptions {
  const b = typeof values.browser === 'string' ? values.browser : 'all';
  if (b !== 'all' && !isBrowser(b))
    throw new SandgateError('BROWSER_UNKNOWN', `unknown browser "${b}" (${BROWSERS.join(', ')} or all)`, { params: { browser: b } });
  const s = typeof values.scope === 'string' ? values.scope : 'user';
  if (s !== 'user' && s !== 'system') throw usage(`--scope must be user or system, not "${s}"`);
  const osName = typeof values.os === 'string' ? values.os : undefined;
  const platform = osName === undefined ? process.platform : OS_NAMES[osName];
  if (!platform) throw usage(`--os must be linux, macos or windows, not "${osName}"`);
  const foreignWindows = platform === 'win32' && process.platform !== 'win32';
  // Paths given for a Windows plan on another OS are Windows paths: resolving them against our cwd would mangle them.
  const abs = (p: string) => (foreignWindows ? win32.resolve('C:\\', p) : resolve(io.cwd, p));
  const homeDir = typeof values.home === 'string' ? abs(values.home) : foreignWindows ? `C:\\Users\\${userInfo().username}` : homedir();
  const profileDir = typeof values['profile-dir'] === 'string' ? abs(values['profile-dir']) : undefined;
  const rootDir = typeof values.root === 'string' ? resolve(io.cwd, values.root) : undefined;
  if (rootDir && s !== 'system') throw usage('--root applies to --scope system');
  return {
    browser: b,
    scope: s as InstallScope,
    home: foreignWindows ? windowsHome(io.env, homeDir) : ctx.home,
    homeDir,
    platform,
    extraIds,
    ...(profileDir !== undefined ? { profileDir } : {}),
    ...(rootDir !== undefined ? { rootDir } : {}),
    ...(values['dry-run'] === true ? { dryRun: true } : {}),
  };
}

/** SANDGATE_HOME as a Windows machine would compute it, for plans printed elsewhere. */
function windowsHome(env: NodeJS.ProcessEnv, homeDir: string): string {
  if (env.SANDGATE_HOME && /^[A-Za-z]:\\/.test(env.SANDGATE_HOME)) return env.SANDGATE_HOME;
  return win32.join(homeDir, 'AppData', 'Local', 'Sandgate');
}

/**
 * The policy's extension.additionalIds. A policy named with --policy must exist and be valid; one found by the usual
 * look-up is read when present, and a broken one is an error too: silently installing without IDs an administrator
 * listed would break their extension with no hint why.
 */
export function policyExtraIds(io: CliIo, ctx: CommandContext): string[] {
  let path: string;
  try {
    path = findPolicyFile({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
  } catch (err) {
    if (err instanceof SandgateError && err.code === 'POLICY_NOT_FOUND' && !ctx.policyPath && !io.env.SANDGATE_POLICY) return [];
    throw err;
  }
  if (!existsSync(path)) return [];
  return [...(parsePolicyText(readFileSync(path, 'utf8'), path).extension?.additionalIds ?? [])];
}

function describePlan(plan: InstallPlan, dryRun: boolean): string {
  const verb = dryRun ? 'would ' : '';
  let out = '';
  for (const s of plan.steps) {
    if (s.kind === 'dir') out += `${verb}create folder ${s.path}\n`;
    else if (s.kind === 'file') out += `${verb}write ${s.role} ${s.path}${s.browser ? ` (${s.browser})` : ''}\n`;
    else out += `${verb}set registry ${s.hive}\\${s.key} (default) = ${s.value}\n`;
  }
  for (const n of plan.notes) out += `note: ${n}\n`;
  return out;
}

export async function installCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, OPTIONS);
  if (help) {
    io.out(INSTALL_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const opts = installOptions(io, ctx, values, policyExtraIds(io, ctx));
  const result = await installNativeHost(opts);
  const logon = startsAtLogon(opts)
    ? await registerLogonStart({ target: logonTarget(opts), ...(opts.dryRun ? { dryRun: true } : {}) })
    : undefined;
  if (ctx.json) printJson(io, opts.dryRun ? result.plan : { ...result, ...(logon ? { logonStart: logon } : {}) });
  else {
    const verb = opts.dryRun ? 'would ' : '';
    const start = logon
      ? `${verb}write logon script ${logon.script}\n${verb}set registry ${logon.key} ${logon.value} = ${logon.data}\n`
      : '';
    io.out(describePlan(result.plan, opts.dryRun === true) + start);
  }
  return EXIT.ok;
}

export async function uninstallCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, OPTIONS);
  if (help) {
    io.out(INSTALL_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const opts = installOptions(io, ctx, values);
  // The logon script first: it lies in the launcher's folder, which uninstall removes only once empty.
  const logon =
    startsAtLogon(opts) && opts.browser === 'all'
      ? await unregisterLogonStart({ target: logonTarget(opts), ...(opts.dryRun ? { dryRun: true } : {}) })
      : undefined;
  const result = await uninstallNativeHost(opts);
  if (logon) {
    result.removed.push(...logon.removed);
    result.kept.push(...logon.kept);
  }
  const verb = opts.dryRun ? 'would remove' : 'removed';
  if (ctx.json) printJson(io, result);
  else {
    const lines = [
      ...result.manifests.map((p) => `${verb} ${p}`),
      ...(result.registryKeys ?? []).map((k) => `${verb} registry key ${k}`),
      ...result.removed.map((p) => `${verb} ${p}`),
      ...result.kept.map((k) => `kept ${k.path}: ${k.reason}`),
    ];
    io.out(lines.length ? lines.join('\n') + '\n' : 'nothing was registered\n');
  }
  return EXIT.ok;
}

/**
 * The logon start goes with an install on Windows itself (not a plan printed for Windows elsewhere): HKCU for a
 * per-user install, HKLM for a system-wide one (every user's own agent at that user's logon).
 */
function startsAtLogon(opts: InstallOptions): boolean {
  return process.platform === 'win32' && opts.platform === 'win32' && opts.profileDir === undefined;
}

function logonTarget(opts: InstallOptions): LogonTarget {
  return opts.scope === 'system' ? { scope: 'system' } : { scope: 'user', home: opts.home };
}
