import type { ScanOutput } from '@sandgate/shared';
import { progressReporter } from '../scan/scan-progress.ts';
import type { CliIo } from './cli-io.ts';

/** Progress on stderr: a live line on a terminal, the summary line at the end either way. */
export function scanProgress(io: CliIo) {
  return progressReporter((t) => io.err(t), io.stderrIsTTY, process.stderr.columns || 100);
}

/** The human-readable result on stdout: matches first, then what was not examined and what cannot be evaluated. */
export function printScanOutput(io: CliIo, out: ScanOutput): void {
  const lines: string[] = [];
  if (out.matches.length === 0) lines.push('No match.');
  for (const m of out.matches) {
    lines.push(`MATCH  ${m.path}  [${m.area}${m.pid !== undefined ? `, pid ${m.pid}` : ''}]`);
    lines.push(
      `       ${m.source === 'verdict' ? 'judged malicious' : formatLabel(m.format)} ${m.iocId}${m.description ? ` (${m.description})` : ''} from ${m.file}`,
    );
    if (m.origin) lines.push(`       found as: ${m.origin}`);
    for (const t of m.terms) lines.push(`       ${t}`);
  }
  if (out.knownMaliciousHashes !== undefined) lines.push(`Checked against ${out.knownMaliciousHashes} SHA-256 value(s) judged malicious.`);
  if (out.kernel) {
    lines.push(
      out.kernel.tainted
        ? `Kernel tainted (${out.kernel.tainted}): ${out.kernel.flags.map((f) => `${f.letter} ${f.meaning}`).join('; ')}`
        : 'Kernel not tainted.',
    );
    for (const m of out.kernel.taintedModules) lines.push(`  module ${m.name}: ${m.taint}`);
  }
  if (out.unsupported.length) printUnsupported((t) => lines.push(t.trimEnd()), out.unsupported, out.termCounts);
  if (out.notExamined.length) {
    lines.push('Not examined:');
    for (const n of out.notExamined) lines.push(`  [${n.area}] ${n.what}: ${n.reason}`);
  }
  if (out.errors.length) {
    lines.push(`Errors (${out.summary.errors}${out.summary.errors > out.errors.length ? `, first ${out.errors.length} listed` : ''}):`);
    for (const e of out.errors) lines.push(`  ${e.path}: ${e.code}`);
  }
  io.out(lines.join('\n') + '\n');
}

/** Every term that cannot be evaluated here, per file and term. */
export function printUnsupported(
  write: (text: string) => void,
  unsupported: ReadonlyArray<ScanOutput['unsupported'][number]>,
  counts: ScanOutput['termCounts'],
): void {
  write(`${counts.unsupported} IOC term(s) cannot be evaluated here (${counts.evaluated} can):\n`);
  for (const u of unsupported) write(`  ${u.file} ${u.itemId}: ${u.term}: ${u.reason}\n`);
}

/** How a match's indicator is introduced: `IOC` (OpenIOC), `STIX indicator`, `YARA rule`. */
export function formatLabel(format: ScanOutput['matches'][number]['format']): string {
  return format === 'stix' ? 'STIX indicator' : format === 'yara' ? 'YARA rule' : 'IOC';
}
