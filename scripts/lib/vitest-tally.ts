/**
 * Runs vitest once and says what it really did: tests passed, failed and skipped, plus every failed file, suite and
 * hook and every unhandled error, each counted as one failure. vitest's own exit status is checked too: a non-zero
 * exit with nothing else to show for it is still a failure, never a green run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { TallyReport } from './tally-reporter.ts';

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  /** One line per failure: what failed and why. */
  failures: string[];
  /** One line per skipped test: which and why. */
  skips: string[];
}

const entry = z.object({ name: z.string(), reason: z.string() });
const reportSchema = z.object({
  passed: z.array(entry),
  failed: z.array(entry),
  skipped: z.array(entry),
  brokenSuites: z.array(entry),
  unhandledErrors: z.array(entry),
  reason: z.string(),
});

const reporterPath = join(import.meta.dirname, 'tally-reporter.ts');

/** What a finished vitest run amounts to, from its exit status and the reporter's file (undefined when it wrote none). */
export function tallyRun(status: number | null, reportText: string | undefined): Tally {
  const t: Tally = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
  const fail = (line: string) => {
    t.failed++;
    t.failures.push(line);
  };
  const parsed = reportText === undefined ? undefined : reportSchema.safeParse(safeJson(reportText));
  if (!parsed?.success) {
    fail(`vitest wrote no usable report (exit status ${status ?? 'killed'}): it failed before or while running the tests`);
    return t;
  }
  const r: TallyReport = parsed.data;
  t.passed = r.passed.length;
  t.skipped = r.skipped.length;
  t.skips = r.skipped.map((s) => `${s.name} (${s.reason})`);
  for (const f of r.failed) fail(`${f.name}: ${f.reason}`);
  for (const s of r.brokenSuites) fail(`${s.name}: ${s.reason}`);
  for (const u of r.unhandledErrors) fail(`${u.name}: ${u.reason}`);
  if (r.reason === 'interrupted') fail('the vitest run was interrupted');
  if (status !== 0 && t.failed === 0) fail(`vitest exited with status ${status ?? 'killed'} without naming a failure`);
  return t;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs `vitest run` with the given arguments (output goes to the terminal) and tallies it. */
export function runVitest(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; quiet?: boolean }): Tally {
  const dir = mkdtempSync(join(tmpdir(), 'sandgate-tally-'));
  const file = join(dir, 'tally.json');
  try {
    const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', `--reporter=${reporterPath}`, ...args], {
      cwd: opts.cwd,
      stdio: opts.quiet ? 'ignore' : 'inherit',
      env: { ...(opts.env ?? process.env), SANDGATE_TALLY_FILE: file },
    });
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      text = undefined;
    }
    return tallyRun(r.status, text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The line CI reads. */
export function closingLine(passed: number, failed: number): string {
  return `${passed} passed, ${failed} failed`;
}
