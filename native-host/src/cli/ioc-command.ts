import { lstat, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { compileIndicatorSet } from '../ioc/compile-indicator-set.ts';
import { parseOpenIoc } from '../ioc/parse-openioc.ts';
import { printUnsupported, scanProgress } from '../scan/print-scan-output.ts';
import { runScan, type ScanScope } from '../scan/run-scan.ts';
import { loadScanSettings } from '../scan/scan-settings.ts';
import { parseCommand } from './cli-context.ts';
import { EXIT, usage, type CliIo } from './cli-io.ts';
import { cpuBudgetOption, report } from './scan-command.ts';

export const IOC_HELP = `usage: sandgate ioc scan FILE.ioc... [--scope critical|system|PATH]... [--json] [--cpu-budget PERCENT] [--cross-filesystems]

An IOC scan now, with every OpenIOC 1.0/1.1 file given (.ioc or .xml).
  --scope critical   the critical areas (running processes, autostart, system binaries, startup folders, boot sector)
  --scope system     every local disk filesystem (virtual, network and image filesystems are never entered)
  --scope PATH       a folder or file; repeat --scope for several (default: critical)
A walk never follows symbolic links and stays on the filesystem of each PATH unless --cross-filesystems is given
(then it enters other local disk filesystems only). Files over the policy's scan.maxFileBytes are counted, not read.
Terms that cannot be evaluated on this OS are listed before the scan starts and in the result, never ignored silently.

exit status: 0 nothing found, 1 a match (a threat was found), 2 an error.
`;

/** Turns repeated `--scope` values into one scope: `critical`, `system`, or paths (which cannot be mixed with them). */
export function parseScope(values: string[] | undefined, cwd: string): ScanScope {
  if (!values || values.length === 0) return 'critical';
  const named = values.filter((v) => v === 'critical' || v === 'system');
  if (named.length) {
    if (values.length > 1) throw usage('--scope critical or --scope system stands alone; give paths without them');
    return named[0] as 'critical' | 'system';
  }
  return values.map((v) => resolve(cwd, v));
}

/** `sandgate ioc scan …`. The IOC scan tasks (`ioc tasks`, `ioc task …`) are another command's work. */
export async function iocCommand(io: CliIo, args: string[]): Promise<number> {
  const { ctx, values, positionals, help } = parseCommand(io, args, {
    scope: { type: 'string', multiple: true },
    'cpu-budget': { type: 'string' },
    'cross-filesystems': { type: 'boolean' },
  });
  const [sub, ...files] = positionals;
  if (help || !sub) {
    io.out(IOC_HELP);
    return help ? EXIT.ok : EXIT.error;
  }
  if (sub !== 'scan') throw usage(`unknown ioc command "${sub}" (sandgate ioc scan FILE.ioc...)`);
  if (files.length === 0) throw usage('sandgate ioc scan needs at least one IOC file');
  const scope = parseScope(values.scope as unknown as string[] | undefined, io.cwd);
  // A mistyped path would otherwise scan nothing and report "no match".
  if (Array.isArray(scope)) {
    for (const p of scope) {
      await lstat(p).catch((err: NodeJS.ErrnoException) => {
        throw new SandgateError(err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `--scope ${p}: ${err.code}`, { params: { path: p } });
      });
    }
  }
  const settings = await loadScanSettings({ home: ctx.home, env: io.env, ...(ctx.policyPath ? { explicit: ctx.policyPath } : {}) });
  const sources = [];
  for (const f of files) {
    const path = resolve(io.cwd, f);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SandgateError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_ACCESS_DENIED', `${path}: cannot read the IOC file (${code})`, { params: { path } });
    }
    sources.push({ file: path, ioc: parseOpenIoc(bytes, path) });
  }
  const set = compileIndicatorSet(sources);
  // Said before the scan starts, so nobody waits an hour to learn half the IOC was never going to be evaluated.
  if (set.unsupported.length && !ctx.json) printUnsupported((t) => io.err(t), set.unsupported, set.termCounts);
  const progress = scanProgress(io);
  const out = await runScan({
    kind: 'ioc',
    scope,
    indicators: [{ set, source: 'ioc' }],
    maxFileBytes: settings.maxFileBytes,
    cpuBudgetPercent: cpuBudgetOption(values['cpu-budget'], settings.cpuBudgetPercent),
    exclude: [ctx.home],
    crossFilesystems: values['cross-filesystems'] === true,
    onProgress: progress.update,
  });
  progress.finish(out.summary);
  return report(ctx, out);
}
