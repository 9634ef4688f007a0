import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closingLine, runVitest, tallyRun } from '../../../scripts/lib/vitest-tally.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'runner');

/** The environment of a fresh shell: the vitest running this test must not leak its worker settings into the child. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST' && k !== 'NODE_ENV'));
}

describe('npm test counts every failure, not only failed tests', () => {
  // One real vitest run over files that each fail in a different way (test/fixtures/runner).
  const tally = runVitest(['--root', fixtures], { cwd: root, env: cleanEnv(), quiet: true });
  const failedLine = (fragment: string) => tally.failures.find((f) => f.includes(fragment));

  it('counts a suite whose beforeAll throws as failed, though vitest calls its tests skipped', () => {
    expect(failedLine('before-all-throws.fixture.ts > before-all throws')).toMatch(/boom in beforeAll/);
    expect(tally.skips.filter((s) => s.startsWith('before-all-throws.fixture.ts'))).toHaveLength(2);
    expect(tally.skips.every((s) => !s.startsWith('before-all-throws') || s.includes('its suite or file failed'))).toBe(true);
  });

  it('counts an afterAll that throws as failed, though every test in it passed', () => {
    expect(failedLine('after-all-throws.fixture.ts')).toMatch(/boom in afterAll/);
  });

  it('counts a file that cannot be imported, an unhandled error and a failed test', () => {
    expect(failedLine('import-fails.fixture.ts')).toMatch(/does-not-exist/);
    expect(failedLine('unhandled error')).toMatch(/late unhandled/);
    expect(failedLine('one-test-fails.fixture.ts > fails')).toBeDefined();
  });

  it('still counts what passed and what was skipped on purpose', () => {
    expect(tally.failed).toBe(5);
    // passing.fixture (1), after-all-throws (1), one-test-fails (1), unhandled-error (2)
    expect(tally.passed).toBe(5);
    expect(tally.skips).toContain('one-test-fails.fixture.ts > skipped (marked skip)');
    expect(closingLine(tally.passed, tally.failed)).toBe('5 passed, 5 failed');
  });
});

describe('a vitest that fails without a report', () => {
  it('is a failure when it wrote nothing (a broken config, a crash)', () => {
    const t = tallyRun(1, undefined);
    expect(t.failed).toBe(1);
    expect(t.failures[0]).toMatch(/no usable report \(exit status 1\)/);
  });

  it('is a failure when it exits non-zero though its report names no failure', () => {
    const empty = JSON.stringify({
      passed: [{ name: 'a', reason: '' }],
      failed: [],
      skipped: [],
      brokenSuites: [],
      unhandledErrors: [],
      reason: 'passed',
    });
    expect(tallyRun(1, empty)).toMatchObject({ passed: 1, failed: 1 });
    expect(tallyRun(0, empty)).toMatchObject({ passed: 1, failed: 0 });
  });

  it('is a failure when the run was interrupted', () => {
    const cut = JSON.stringify({ passed: [], failed: [], skipped: [], brokenSuites: [], unhandledErrors: [], reason: 'interrupted' });
    expect(tallyRun(0, cut).failed).toBe(1);
  });
});
