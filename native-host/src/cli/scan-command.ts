import { join } from 'node:path';
import type { ScanOutput } from '@sandgate/shared';
import { KnownBadHashes, readKnownBadHashes } from '../scan/known-bad-hashes.ts';
import { runScan } from '../scan/run-scan.ts';
import { loadScanSettings } from '../scan/scan-settings.ts';
import { activeTaskIndicators } from '../tasks/active-task-iocs.ts';
import { readStoredTasks, tasksDir } from '../tasks/task-store.ts';
import { parseCommand, type CommandContext } from './cli-context.ts';
import { EXIT, printJson, usage, type CliIo } from './cli-io.ts';
import { printScanOutput, scanProgress } from './print-scan-output.ts';

export const SCAN_HELP = `usage: sandgate scan critical [--json] [--cpu-budget PERCENT]

A Critical Areas Scan now: the executables of running processes (deleted and memory-only ones included), loaded
kernel modules and kernel taint, autostart locations (systemd units, cron, rc.local, init.d, shell profiles, XDG
autostart, /etc/ld.so.preload), system binary folders, users' startup folders and the boot disk's first sector.
Every object is checked against each SHA-256 a sandbox judged malicious (the agent's finished jobs) and the IOCs of
every IOC scan task still active.

--cpu-budget PERCENT   share of the machine (all cores) the scan may use on average; default: policy scan.cpuBudgetPercent

exit status: 0 nothing found, 1 a threat was found, 2 an error.
`;

/** Reads `--cpu-budget`; the policy's value otherwise. */
export function cpuBudgetOption(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw usage('--cpu-budget takes a whole percentage from 1 to 100');
  return n;
}

/** `sandgate scan critical`: runs in this process (it needs no agent), with the policy's scan settings. */
export async function scanCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, { 'cpu-budget': { type: 'string' } });
  const [sub, ...extra] = positionals;
  if (help || !sub) {
    io.out(SCAN_HELP);
    return help ? EXIT.ok : EXIT.error;
  }
  if (sub !== 'critical') throw usage(`unknown scan "${sub}" (sandgate scan critical)`);
  if (extra.length) throw usage(`unexpected arguments: ${extra.join(' ')}`);
  const settings = await loadScanSettings({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
  const journal = join(ctx.home, 'jobs', 'finished.jsonl');
  const known = new KnownBadHashes(await readKnownBadHashes(journal), journal);
  const iocs = activeTaskIndicators(tasksDir(ctx.home), readStoredTasks(ctx.home), (taskId, err) =>
    io.err(
      `warning: the IOCs of task ${taskId} could not be compiled and are not checked: ${err instanceof Error ? err.message : String(err)}\n`,
    ),
  );
  const progress = scanProgress(io);
  const out = await runScan({
    kind: 'critical-areas',
    scope: 'critical',
    indicators: [{ set: known, source: 'verdict' }, ...iocs.map((set) => ({ set, source: 'ioc' as const }))],
    knownMaliciousHashes: known.size,
    maxFileBytes: settings.maxFileBytes,
    cpuBudgetPercent: cpuBudgetOption(values['cpu-budget'], settings.cpuBudgetPercent),
    onProgress: progress.update,
  });
  progress.finish(out.summary);
  return report(ctx, out);
}

export function report(ctx: CommandContext, out: ScanOutput): number {
  if (ctx.json) printJson(ctx.io, out);
  else printScanOutput(ctx.io, out);
  return out.matches.length ? EXIT.threat : EXIT.ok;
}
