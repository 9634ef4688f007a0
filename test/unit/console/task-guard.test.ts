import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskProgress } from '@sandgate/shared';
import { GroupTaskAgent } from '#native-host/console/group-task-agent.ts';
import { silentLogger } from '#native-host/log.ts';
import { expandHome, guardDecision, pathMatches, readTaskGuard, GUARD_FILE, type TaskGuard } from '#native-host/tasks/task-guard.ts';

const OBJECT = 'b'.repeat(64);
// A witnessed group task whose object is OBJECT (issue 14: only that SHA-256 may ever be quarantined).
const guard = (g: Partial<TaskGuard> = {}): TaskGuard => ({
  source: 'console',
  consoleTaskId: 'c',
  groupTaskId: 'g',
  dryRun: false,
  neverQuarantine: { paths: [], sha256: [], publishers: [] },
  objectSha256: OBJECT,
  awaitingWitness: false,
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

  it('keeps never-quarantine paths and hashes, and turns everything else into a dry run when asked', async () => {
    const g = guard({ neverQuarantine: { paths: ['/opt/corp/'], sha256: ['a'.repeat(64)], publishers: [] } });
    expect(await guardDecision(g, { path: '/opt/corp/x' })).toEqual({ why: 'never-quarantine', rule: 'path' });
    expect(await guardDecision(g, { path: '/tmp/x', sha256: 'A'.repeat(64) })).toEqual({ why: 'never-quarantine', rule: 'sha256' });
    expect(await guardDecision(g, { path: '/tmp/x', sha256: OBJECT })).toBeUndefined();
    expect(await guardDecision({ ...g, dryRun: true }, { path: '/tmp/x', sha256: OBJECT })).toEqual({ why: 'dry-run' });
    expect(await guardDecision(undefined, { path: '/opt/corp/x' })).toBeUndefined();
  });

  it("quarantines only the object's SHA-256, and only once the console has a second witness", async () => {
    expect(await guardDecision(guard(), { path: '/tmp/x', sha256: OBJECT })).toBeUndefined();
    // Matched by name, size or MD5 (no SHA-256 computed), or with another SHA-256: never the object.
    expect(await guardDecision(guard(), { path: '/tmp/x' })).toEqual({ why: 'not-the-object' });
    expect(await guardDecision(guard(), { path: '/tmp/x', sha256: 'c'.repeat(64) })).toEqual({ why: 'not-the-object' });
    expect(await guardDecision(guard({ awaitingWitness: true }), { path: '/tmp/x', sha256: OBJECT })).toEqual({ why: 'awaiting-witness' });
    // A guard without an object (written before issue 14) quarantines nothing.
    const { objectSha256: _, ...old } = guard();
    expect(await guardDecision(old, { path: '/tmp/x', sha256: OBJECT })).toEqual({ why: 'not-the-object' });
  });

  it('reads a guard written before publishers existed as one with no publishers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandgate-guard-'));
    try {
      const old = {
        source: 'console',
        consoleTaskId: 'c',
        groupTaskId: 'g',
        dryRun: false,
        neverQuarantine: { paths: ['/opt/corp/'], sha256: [] },
      };
      writeFileSync(join(dir, GUARD_FILE), JSON.stringify(old));
      expect(readTaskGuard(dir)).toEqual({ ...old, neverQuarantine: { ...old.neverQuarantine, publishers: [] } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps a workstation's memory of its shares written before publishers existed", async () => {
    const home = mkdtempSync(join(tmpdir(), 'sandgate-guard-home-'));
    try {
      mkdirSync(join(home, 'console'), { mode: 0o700 });
      const old = {
        groupTaskId: 'g',
        guard: { dryRun: false, neverQuarantine: { paths: ['/opt/corp/'], sha256: [] } },
        closed: false,
        fixedState: 'expired',
      };
      writeFileSync(join(home, 'console', 'group-tasks.json'), JSON.stringify({ agentId: 'a', tasks: { share: old } }));
      const reports: TaskProgress[] = [];
      const agent = new GroupTaskAgent({
        home,
        agentId: 'a',
        log: silentLogger,
        report: async (p) => void reports.push(p),
        tasks: () => undefined,
      });
      expect(agent.busy).toBe(true);
      await agent.reportChanges();
      expect(reports).toEqual([{ taskId: 'share', state: 'expired', matches: [] }]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('asks nothing of the file when a listed publisher cannot apply (no hash to tie the signature to)', async () => {
    const refused: string[] = [];
    const g = guard({ neverQuarantine: { paths: [], sha256: [], publishers: [{ name: 'Contoso Ltd', caSha256: ['c'.repeat(64)] }] } });
    // Without a hash it is not the object either (issue 14): reported, whatever the publishers say.
    expect(await guardDecision(g, { path: '/nonexistent/x.exe' }, { onPublisherRefused: (r) => refused.push(r) })).toEqual({
      why: 'not-the-object',
    });
    expect(refused).toEqual([]);
    expect(
      await guardDecision(g, { path: '/nonexistent/x.exe', sha256: OBJECT }, { onPublisherRefused: (r) => refused.push(r) }),
    ).toBeUndefined();
    expect(refused).toEqual([expect.stringContaining('could not be opened')]);
  });
});
