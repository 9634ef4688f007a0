import { describe, expect, it } from 'vitest';
import { expandHome, guardDecision, pathMatches, type TaskGuard } from '../../../native-host/src/tasks/task-guard.ts';

const guard = (g: Partial<TaskGuard> = {}): TaskGuard => ({
  source: 'console',
  consoleTaskId: 'c',
  groupTaskId: 'g',
  dryRun: false,
  neverQuarantine: { paths: [], sha256: [] },
  ...g,
});

describe("a console group task's guard on the workstation", () => {
  it('resolves ~/ to the home folder of the user the agent runs as', () => {
    expect(expandHome('~/Downloads', '/home/ada')).toBe('/home/ada/Downloads');
    expect(expandHome('/srv/x', '/home/ada')).toBe('/srv/x');
  });

  it('reads a plain path as a prefix that ends at a folder boundary', () => {
    expect(pathMatches('/opt/corp', '/opt/corp/tool.exe')).toBe(true);
    expect(pathMatches('/opt/corp/', '/opt/corp/a/b')).toBe(true);
    expect(pathMatches('/opt/corp', '/opt/corporate/tool.exe')).toBe(false);
  });

  it('reads * within a name, ** across folders and ? as globs', () => {
    expect(pathMatches('/home/*/keep/*.com', '/home/ada/keep/x.com')).toBe(true);
    expect(pathMatches('/home/*/keep/*.com', '/home/ada/keep/sub/x.com')).toBe(false);
    expect(pathMatches('/srv/**/keep/*', '/srv/a/b/keep/x')).toBe(true);
    expect(pathMatches('/srv/**/keep/*', '/srv/keep/x')).toBe(true);
    expect(pathMatches('/srv/**/keep/*', '/srv/notkeep/x')).toBe(false);
    expect(pathMatches('/tmp/file?.bin', '/tmp/file1.bin')).toBe(true);
  });

  it('keeps never-quarantine paths and hashes, and turns everything else into a dry run when asked', () => {
    const g = guard({ neverQuarantine: { paths: ['/opt/corp/'], sha256: ['a'.repeat(64)] } });
    expect(guardDecision(g, { path: '/opt/corp/x' })).toBe('never-quarantine');
    expect(guardDecision(g, { path: '/tmp/x', sha256: 'A'.repeat(64) })).toBe('never-quarantine');
    expect(guardDecision(g, { path: '/tmp/x', sha256: 'b'.repeat(64) })).toBeUndefined();
    expect(guardDecision({ ...g, dryRun: true }, { path: '/tmp/x' })).toBe('dry-run');
    expect(guardDecision(undefined, { path: '/opt/corp/x' })).toBeUndefined();
  });
});
