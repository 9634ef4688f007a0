import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { SandgateError, helloResultSchema, toWireError, type DoctorCheck, type DoctorReport } from '@sandgate/shared';
import { checkRegistration } from '../install/check-registration.ts';
import { checkService } from '../install/check-service.ts';
import { checkPolicyHealth } from '../sandbox/check-policy-health.ts';
import { connectAgent } from '../ipc/client.ts';
import { appVersion } from './app-version.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';

export const DOCTOR_HELP = `usage: sandgate doctor [--scope user|system|all] [--profile-dir DIR] [--home DIR] [--json]

Checks everything a download needs on its way to a verdict, and says for each failure how to fix it:
  manifest     each browser's host manifest: exists, parses, names an executable launcher, allows Sandgate's ID
  launcher     runs the pinned Node by absolute path, on an entry that exists
  service      a systemd unit / launchd agent / Windows service (optional: the agent is started on demand)
  agent        the agent socket answers hello (not running is a warning: it is started on demand)
  policy       found and valid; certificate: the pinned certificate is readable and in date
  server URL   each server: TLS connect with the pinned certificate and a probe of its API
Exit 0 when nothing failed, 2 otherwise. --json prints {"ok", "checks":[{check,status,detail,code?,fix?}]}.
`;

const OPTIONS = { scope: { type: 'string' }, 'profile-dir': { type: 'string' }, home: { type: 'string' } } as const;

export async function doctorCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, OPTIONS);
  if (help) {
    io.out(DOCTOR_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw usage(`unexpected arguments: ${positionals.join(' ')}`);
  const scope = typeof values.scope === 'string' ? values.scope : 'all';
  if (scope !== 'user' && scope !== 'system' && scope !== 'all') throw usage(`--scope must be user, system or all, not "${scope}"`);
  const homeDir = typeof values.home === 'string' ? resolve(io.cwd, values.home) : homedir();
  const profileDir = typeof values['profile-dir'] === 'string' ? resolve(io.cwd, values['profile-dir']) : undefined;

  // The policy first: its extension.additionalIds are part of what the manifests should allow.
  const health = await checkPolicyHealth({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
  const checks: DoctorCheck[] = [
    ...(await checkRegistration({
      home: ctx.home,
      homeDir,
      scopes: scope === 'all' ? ['user', 'system'] : [scope],
      ...(profileDir !== undefined ? { profileDir } : {}),
      extraIds: health.loaded?.policy.extension?.additionalIds ?? [],
    })),
    await checkService(process.platform, homeDir, ctx.home),
    await agentCheck(ctx.home),
    ...health.checks,
  ];

  const report: DoctorReport = { ok: !checks.some((c) => c.status === 'fail'), checks };
  if (ctx.json) printJson(io, report);
  else {
    for (const c of checks) {
      io.out(`${c.status.toUpperCase().padEnd(4)}  ${c.check.padEnd(22)} ${c.detail}\n`);
      if (c.status !== 'ok' && c.fix) io.out(`      ${''.padEnd(22)} fix: ${c.fix}\n`);
    }
  }
  const failed = checks.find((c) => c.status === 'fail');
  if (!failed) return EXIT.ok;
  io.err(`error[${failed.code ?? 'INTERNAL'}]: ${failed.check}: ${failed.detail}\n`);
  return EXIT.error;
}

async function agentCheck(home: string): Promise<DoctorCheck> {
  try {
    const client = await connectAgent({ home, autostart: false, timeoutMs: 3000 });
    try {
      const r = helloResultSchema.safeParse(
        await client.request('hello', { minV: 1, capabilities: [], client: `sandgate-cli/${appVersion()} doctor` }, { timeoutMs: 3000 }),
      );
      if (!r.success)
        return {
          check: 'agent',
          status: 'fail',
          detail: 'the agent answered hello with something unexpected',
          code: 'MESSAGE_INVALID',
          fix: 'stop it and start the agent of this version (sandgate serve)',
        };
      return { check: 'agent', status: 'ok', detail: `answers hello (version ${r.data.appVersion}, protocol ${r.data.v})` };
    } finally {
      client.close();
    }
  } catch (err) {
    const w = toWireError(err);
    // Nobody listening is normal: the native host starts the service on demand.
    if (err instanceof SandgateError && err.code === 'AGENT_UNAVAILABLE') {
      return {
        check: 'agent',
        status: 'warn',
        code: w.code,
        detail: `not running (${w.message}); it is started on demand`,
        fix: 'nothing needed; sandgate serve runs it in the foreground to see why it would not start',
      };
    }
    return {
      check: 'agent',
      status: 'fail',
      detail: w.message,
      code: w.code,
      fix: 'sandgate serve in a terminal shows why; $SANDGATE_HOME/logs/ has the logs',
    };
  }
}
