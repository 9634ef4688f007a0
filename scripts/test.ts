/**
 * `npm test`: every tier (typecheck, unit, contract, integration, the real-browser e2e) in one run, ending with the
 * plain line `N passed, N failed` that CI reads (it does not parse vitest's own summary). Every failed test, file,
 * suite and hook and every unhandled error counts as a failure, and so does vitest exiting non-zero with nothing to
 * show for it (scripts/lib/vitest-tally.ts). Skipped tests are listed by name with their reason.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { closingLine, runVitest } from './lib/vitest-tally.ts';

const root = join(import.meta.dirname, '..');
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];

function step(name: string, cmd: string, args: string[]): boolean {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

// The build and typecheck count as one test each: a broken build or a type error is a failure a user would meet.
for (const [name, args] of [
  ['extension build (chrome-mv3)', ['run', 'build', '-w', 'extension']],
  ['extension build (firefox-mv3)', ['run', 'build:firefox', '-w', 'extension']],
  ['typecheck', ['run', 'typecheck']],
] as const) {
  if (step(name, 'npm', [...args])) passed++;
  else {
    failed++;
    failures.push(name);
  }
}

const extra = process.argv.slice(2);
process.stdout.write('\n== vitest (unit, unit-extension, integration, security, windows, e2e)\n');
const vitest = runVitest(extra, { cwd: root });
passed += vitest.passed;
failed += vitest.failed;
skipped += vitest.skipped;
failures.push(...vitest.failures);

if (vitest.skips.length) process.stdout.write(`\nSkipped:\n${vitest.skips.map((s) => `  - ${s}`).join('\n')}\n`);
if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
if (skipped) process.stdout.write(`\n${skipped} skipped (listed above)\n`);
process.stdout.write(`\n${closingLine(passed, failed)}\n`);
process.exit(failed ? 1 : 0);
