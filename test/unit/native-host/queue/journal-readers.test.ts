import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent, Job } from '@sandgate/shared';
import { iocForVerdict } from '#native-host/console/verdict-ioc.ts';
import { JobJournal } from '#native-host/queue/job-journal.ts';
import { readKnownBadHashes } from '#native-host/scan/known-bad-hashes.ts';

// The finished-jobs journal has one writer (JobJournal, sealed lines) and two readers beside it: the Critical Areas
// Scan (which hashes were judged malicious) and the console channel (the IOC of a malicious verdict). Both must read
// what the writer writes, or a scan misses a known threat and a verdict reaches the console without its facts.

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sg-journal-readers-'));
  mkdirSync(join(home, 'Downloads'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const content = Buffer.from('MZ a program a sandbox called malicious');
const sha256 = createHash('sha256').update(content).digest('hex');

async function journalWithOneThreat(): Promise<Job> {
  const path = join(home, 'Downloads', 'tool.exe');
  writeFileSync(path, content);
  const job: Job = {
    jobId: 'j_threat',
    state: 'done',
    path,
    sha256,
    size: content.length,
    provenance: { source: 'cli' },
    acceptedAt: '2026-12-07T10:00:00.000Z',
    finishedAt: '2026-12-07T10:00:01.000Z',
    verdict: { level: 'malicious', threat: 'Test.Threat', server: 'https://127.0.0.1:8443' },
  };
  const journal = await JobJournal.open(join(home, 'jobs', 'finished.jsonl'));
  await journal.append({ ...job, jobId: 'j_clean', sha256: 'c'.repeat(64), verdict: { level: 'clean', server: 's' } });
  await journal.append(job);
  return job;
}

describe('the finished-jobs journal, read beside its writer', () => {
  it('gives the Critical Areas Scan every hash judged malicious', async () => {
    const job = await journalWithOneThreat();
    expect(await readKnownBadHashes(join(home, 'jobs', 'finished.jsonl'))).toEqual([
      expect.objectContaining({ sha256: job.sha256, jobId: job.jobId, threat: 'Test.Threat' }),
    ]);
  });

  it('gives the console channel the IOC and the facts of a malicious verdict at once', async () => {
    const job = await journalWithOneThreat();
    const event: AgentEvent = {
      time: '2026-12-07T10:00:01.000Z',
      type: 'verdict',
      jobId: job.jobId,
      path: job.path,
      sha256,
      level: 'malicious',
      server: 's',
    };
    const facts = await iocForVerdict(home, event);
    expect(facts?.ioc?.sha256).toBe(sha256);
    expect(facts?.object).toMatchObject({ size: content.length, md5: createHash('md5').update(content).digest('hex') });
  });
});
