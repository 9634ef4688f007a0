/**
 * A vitest reporter that writes what the run really did to `$SANDGATE_TALLY_FILE` as JSON (see `vitest-tally.ts`).
 *
 * Vitest's JSON reporter is not enough to tell the truth: a suite whose `beforeAll` throws shows its tests as
 * "skipped", an `afterAll` that throws leaves every test "passed", and an unhandled error is in no file at all. Each
 * of those is a failure a user would meet, so this reporter lists them by name from vitest's own run objects.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule, TestSuite } from 'vitest/node';

export interface TallyEntry {
  /** Which file, suite or test; for unhandled errors, where vitest says it came from. */
  name: string;
  /** First line of the error, or why it was skipped. */
  reason: string;
}

export interface TallyReport {
  passed: TallyEntry[];
  failed: TallyEntry[];
  skipped: TallyEntry[];
  /** Files, suites and hooks that failed outside any test (import errors, beforeAll/afterAll throwing, a file not run). */
  brokenSuites: TallyEntry[];
  unhandledErrors: TallyEntry[];
  /** `passed`, `failed` or `interrupted`: vitest's own account of the run. */
  reason: string;
}

const firstLine = (e: SerializedError | undefined): string => (e?.message ?? e?.name ?? 'error').split('\n')[0] ?? 'error';

/** A test in `run` mode that was skipped never got its turn: its suite's `beforeAll` or its file failed first. */
function skipReason(mode: string): string {
  return mode === 'run' ? 'not run: its suite or file failed first' : `marked ${mode}`;
}

function label(module: TestModule, suite?: TestSuite): string {
  return suite ? `${module.relativeModuleId} > ${suite.fullName}` : module.relativeModuleId;
}

export default class TallyReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>, reason: string): void {
    const file = process.env.SANDGATE_TALLY_FILE;
    if (!file) return;
    const report: TallyReport = { passed: [], failed: [], skipped: [], brokenSuites: [], unhandledErrors: [], reason };
    for (const module of modules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const r = test.result();
        const name = `${module.relativeModuleId} > ${test.fullName}`;
        if (r.state === 'passed') report.passed.push({ name, reason: '' });
        else if (r.state === 'failed') {
          failedTests++;
          report.failed.push({ name, reason: firstLine(r.errors[0]) });
        } else if (r.state === 'skipped') report.skipped.push({ name, reason: r.note ?? skipReason(test.options.mode) });
        // A test still pending when the run ended never finished: the run was cut short around it.
        else report.failed.push({ name, reason: 'never finished (the run was interrupted)' });
      }
      // Hook errors (beforeAll/afterAll) and collection errors sit on the module or suite, not on a test.
      const suiteErrors: TallyEntry[] = module.errors().map((e) => ({ name: label(module), reason: firstLine(e) }));
      for (const suite of module.children.allSuites()) {
        for (const e of suite.errors()) suiteErrors.push({ name: label(module, suite), reason: firstLine(e) });
      }
      report.brokenSuites.push(...suiteErrors);
      // A file vitest calls failed with neither a failed test nor an error of its own is still a failure.
      const state = module.state();
      if (suiteErrors.length === 0 && failedTests === 0 && (state === 'failed' || state === 'queued' || state === 'pending')) {
        report.brokenSuites.push({ name: label(module), reason: state === 'failed' ? 'the file failed' : `the file was left ${state}` });
      }
    }
    for (const e of unhandled) report.unhandledErrors.push({ name: 'unhandled error', reason: firstLine(e) });
    writeFileSync(file, JSON.stringify(report));
  }
}
