/**
 * `npm test`: every tier (typecheck, unit, contract, integration, the real-browser e2e) in one run, ending with the
 * plain line `N passed, N failed` that CI reads (it does not parse vitest's own summary). Skipped tests are counted
 * and printed on their own line so none goes unnoticed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

const out = mkdtempSync(join(tmpdir(), 'sandgate-test-'));
const json = join(out, 'vitest.json');
const extra = process.argv.slice(2);
step('vitest (unit, unit-extension, integration, e2e)', 'npx', [
  'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...extra,
]);
try {
  const r = JSON.parse(readFileSync(json, 'utf8')) as {
    numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number;
    testResults: { name: string; status: string; message?: string; assertionResults: { status: string; fullName: string }[] }[];
  };
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  for (const file of r.testResults) {
    // a file that failed to load has no assertion results but a failed status: count it, or it would vanish
    if (file.status === 'failed' && file.assertionResults.length === 0) {
      failed++;
      failures.push(`${file.name}: ${file.message?.split('\n')[0] ?? 'failed to run'}`);
    }
    for (const a of file.assertionResults) if (a.status === 'failed') failures.push(a.fullName);
  }
} catch (err) {
  failed++;
  failures.push(`vitest produced no report (${(err as Error).message})`);
}
rmSync(out, { recursive: true, force: true });

if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
if (skipped) process.stdout.write(`\n${skipped} skipped (see the vitest output above for which and why)\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
