import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '@sandgate/shared';
import { JobJournal } from '#native-host/queue/job-journal.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const job = (i: number): Job => ({
  jobId: `j${i}`,
  state: 'done',
  path: `/d/${i}`,
  sha256: 'a'.repeat(64),
  size: 1,
  provenance: { source: 'cli' },
  acceptedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  verdict: { level: 'clean', server: 's' },
});

describe('finished-jobs journal', () => {
  it('remembers the last N finished jobs across restarts and stays bounded on disk', async () => {
    const file = join(dir, 'finished.jsonl');
    const j1 = await JobJournal.open(file, 3);
    for (let i = 1; i <= 10; i++) await j1.append(job(i));
    const j2 = await JobJournal.open(file, 3);
    expect(j2.recent(10).map((j) => j.jobId)).toEqual(['j10', 'j9', 'j8']);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(6);
  });

  it('skips a line torn by a crash and removes a half-written compaction', async () => {
    const file = join(dir, 'finished.jsonl');
    const j1 = await JobJournal.open(file, 10);
    await j1.append(job(1));
    appendFileSync(file, '{"jobId":"j2","sta');
    writeFileSync(join(dir, '.tmp-0123'), 'partial');
    const j2 = await JobJournal.open(file, 10);
    expect(j2.recent(10).map((j) => j.jobId)).toEqual(['j1']);
    expect(() => readFileSync(join(dir, '.tmp-0123'))).toThrow();
  });

  it('drops a job whose line had a byte flipped on disk, and a job appended after a torn line is not lost with it', async () => {
    const file = join(dir, 'finished.jsonl');
    const j1 = await JobJournal.open(file, 10);
    await j1.append(job(1));
    await j1.append(job(2));
    writeFileSync(file, readFileSync(file, 'utf8').replace('"path":"/d/1"', '"path":"/d/7"') + '{"jobId":"j3","sta');
    const j2 = await JobJournal.open(file, 10);
    expect(j2.recent(10).map((j) => j.jobId)).toEqual(['j2']);
    await j2.append(job(4));
    expect((await JobJournal.open(file, 10)).recent(10).map((j) => j.jobId)).toEqual(['j4', 'j2']);
  });

  it('keeps the history written before lines were sealed, and seals it', async () => {
    const file = join(dir, 'finished.jsonl');
    writeFileSync(file, JSON.stringify(job(1)) + '\n');
    expect((await JobJournal.open(file, 10)).recent(10).map((j) => j.jobId)).toEqual(['j1']);
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{16} \{"jobId":"j1"/);
  });
});
