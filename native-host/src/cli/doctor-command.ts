import { constants, accessSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { NATIVE_HOST_NAME, SandgateError, helloResultSchema, toWireError } from '@sandgate/shared';
import { BROWSERS, manifestLocations } from '../install/browsers.ts';
import { launcherPath } from '../install/launcher.ts';
import { connectAgent } from '../ipc/client.ts';
import { appVersion } from './app-version.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';

export const DOCTOR_HELP = `usage: sandgate doctor [--profile-dir DIR] [--json]

Checks the native-host registration (each browser's manifest, and that the launcher it names is executable) and that
the agent service answers hello. Exit 0 when nothing failed, 2 otherwise.
`;

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  code?: string;
}

const isExecutable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** A deliberately small health check (the full one is issue 6); every line says what it looked at. */
export async function doctorCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, { 'profile-dir': { type: 'string' } });
  if (help) {
    io.out(DOCTOR_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const checks: Check[] = [];

  const launcher = launcherPath(ctx.home);
  checks.push(
    isExecutable(launcher)
      ? { check: 'launcher', status: 'ok', detail: launcher }
      : { check: 'launcher', status: 'fail', detail: `${launcher} is missing or not executable (run sandgate install)`, code: 'HOST_NOT_INSTALLED' },
  );

  const manifests: Array<{ browser: string; file: string }> = [];
  if (typeof values['profile-dir'] === 'string') manifests.push({ browser: 'profile', file: join(values['profile-dir'], 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`) });
  if (process.platform !== 'win32') {
    for (const b of BROWSERS) for (const dir of manifestLocations(b, process.platform, 'user', homedir())) manifests.push({ browser: b, file: join(dir, `${NATIVE_HOST_NAME}.json`) });
  }
  let found = 0;
  for (const m of manifests) {
    if (!existsSync(m.file)) continue;
    found++;
    checks.push(manifestCheck(m.browser, m.file));
  }
  if (found === 0) {
    checks.push({
      check: 'manifest',
      status: 'fail',
      detail: process.platform === 'win32' ? 'registry keys are not checked yet on Windows' : 'no host manifest found for any browser (run sandgate install)',
      code: 'HOST_NOT_INSTALLED',
    });
  }

  checks.push(await agentCheck(ctx.home));

  if (ctx.json) printJson(io, { checks });
  else for (const c of checks) io.out(`${c.status.toUpperCase().padEnd(4)}  ${c.check.padEnd(18)} ${c.detail}\n`);
  const failed = checks.find((c) => c.status === 'fail');
  if (!failed) return EXIT.ok;
  io.err(`error[${failed.code ?? 'INTERNAL'}]: ${failed.check}: ${failed.detail}\n`);
  return EXIT.error;
}

function manifestCheck(browser: string, file: string): Check {
  const check = `manifest ${browser}`;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { check, status: 'fail', detail: `${file} is not JSON`, code: 'HOST_NOT_INSTALLED' };
  }
  const path = raw && typeof raw === 'object' && 'path' in raw && typeof raw.path === 'string' ? raw.path : undefined;
  if (!path || !isAbsolute(path) || !isExecutable(path)) {
    return { check, status: 'fail', detail: `${file} names a launcher that is missing or not executable: ${path ?? '(none)'}`, code: 'HOST_NOT_INSTALLED' };
  }
  return { check, status: 'ok', detail: `${file} → ${path}` };
}

async function agentCheck(home: string): Promise<Check> {
  try {
    const client = await connectAgent({ home, autostart: false, timeoutMs: 3000 });
    try {
      const r = helloResultSchema.safeParse(
        await client.request('hello', { minV: 1, capabilities: [], client: `sandgate-cli/${appVersion()} doctor` }, { timeoutMs: 3000 }),
      );
      if (!r.success) return { check: 'agent', status: 'fail', detail: 'the agent answered hello with something unexpected', code: 'MESSAGE_INVALID' };
      return { check: 'agent', status: 'ok', detail: `answers hello (version ${r.data.appVersion}, protocol ${r.data.v})` };
    } finally {
      client.close();
    }
  } catch (err) {
    const w = toWireError(err);
    // Nobody listening is normal: the native host starts the service on demand.
    if (err instanceof SandgateError && err.code === 'AGENT_UNAVAILABLE') return { check: 'agent', status: 'warn', detail: `not running (${w.message}); it is started on demand` };
    return { check: 'agent', status: 'fail', detail: w.message, code: w.code };
  }
}
