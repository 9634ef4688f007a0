import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LabAnalysis } from '@sandgate/shared';
import { AnalysisStore } from '#lab/store/analysis-store.ts';
import { silentLogger } from '#lab/log.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lab-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const analysis = (over: Partial<LabAnalysis> = {}): LabAnalysis => ({
  id: 'id-1',
  sha256: 'ab'.repeat(32),
  size: 3,
  state: 'queued',
  submittedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('analysis store', () => {
  it('remembers analyses across a reopen, by sha256 and by id', async () => {
    const s = await AnalysisStore.open(dir, silentLogger);
    await s.put(analysis());
    await s.put(analysis({ state: 'done', verdict: { level: 'clean', score: 0, engines: [], indicators: [] } }));
    const again = await AnalysisStore.open(dir, silentLogger);
    expect(again.getBySha('ab'.repeat(32))?.state).toBe('done');
    expect(again.getById('id-1')?.verdict?.level).toBe('clean');
    expect(readdirSync(dir)).toEqual([`${'ab'.repeat(32)}.json`]);
  });

  it('lands the last state when writes of one analysis overlap', async () => {
    const s = await AnalysisStore.open(dir, silentLogger);
    const states = ['queued', 'analysing', 'done'] as const;
    await Promise.all(states.map((state) => s.put(analysis({ state }))));
    await s.flush();
    expect(JSON.parse(readFileSync(join(dir, `${'ab'.repeat(32)}.json`), 'utf8')).state).toBe('done');
  });

  it('ignores corrupt or foreign files instead of failing to start', async () => {
    writeFileSync(join(dir, `${'cd'.repeat(32)}.json`), '{ not json');
    writeFileSync(join(dir, `${'ef'.repeat(32)}.json`), JSON.stringify(analysis({ sha256: '01'.repeat(32) })));
    const s = await AnalysisStore.open(dir, silentLogger);
    expect(s.all()).toEqual([]);
  });
});
