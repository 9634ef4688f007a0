import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnownBadHashes, readKnownBadHashes } from '#native-host/scan/known-bad-hashes.ts';
import { scanPaths } from '#native-host/scan/scan-paths.ts';
import { ScanSession } from '#native-host/scan/scan-session.ts';
import { HashSetIndicators } from './hash-set-indicators.ts';

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-session-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('a scan session over a folder', () => {
  it('reads only files a hash could still decide, skips files over the size limit, and reports the match', async () => {
    writeFileSync(join(root, 'match.exe'), 'malware!');
    writeFileSync(join(root, 'same-size.txt'), 'harmless'); // 8 bytes too: read, no match
    writeFileSync(join(root, 'other-size.txt'), 'something else entirely'); // excluded by size, never read
    writeFileSync(join(root, 'huge.bin'), Buffer.alloc(5000));
    symlinkSync(join(root, 'match.exe'), join(root, 'link.exe'));
    const set = new HashSetIndicators([
      { id: 'ioc-1', hash: 'sha256', value: sha('malware!'), size: 8 },
      { id: 'ioc-2', hash: 'md5', value: 'f'.repeat(32), size: 5000 },
    ]);
    const session = new ScanSession({ indicators: [{ set, source: 'ioc' }], maxFileBytes: 4096 });
    await scanPaths(session, [root]);
    await session.drain();
    expect(session.counters).toMatchObject({
      filesSeen: 4,
      skippedByPlan: 1,
      skippedTooLarge: 1,
      hashed: 2,
      bytesRead: 16,
      matches: 1,
      errors: 0,
      linksSkipped: 1,
    });
    expect(session.matches).toEqual([
      {
        document: 'FileItem',
        path: join(root, 'match.exe'),
        area: 'path',
        source: 'ioc',
        iocId: 'ioc-1',
        file: 'test.ioc',
        description: 'rule ioc-1',
        terms: [`FileItem/Sha256sum = ${sha('malware!')}`],
        sha256: sha('malware!'),
      },
    ]);
  });

  it('never has more reads in flight than its concurrency', async () => {
    for (let i = 0; i < 40; i++) writeFileSync(join(root, `f${i}`), `content ${i}`);
    let inFlight = 0;
    let most = 0;
    const set = new HashSetIndicators([{ id: 'x', hash: 'sha256', value: '0'.repeat(64) }]);
    const match = set.match.bind(set);
    set.match = async (o) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 2));
        return await match(o);
      } finally {
        inFlight--;
      }
    };
    const session = new ScanSession({ indicators: [{ set, source: 'ioc' }], maxFileBytes: 1 << 20, concurrency: 3 });
    await scanPaths(session, [root]);
    await session.drain();
    expect(session.counters.hashed).toBe(40);
    expect(most).toBe(3);
  });

  it('counts and lists a file that cannot be read, and carries on', async () => {
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd/a'), 'a');
    writeFileSync(join(root, 'd/b'), 'b');
    const set = new HashSetIndicators([{ id: 'b', hash: 'sha256', value: sha('b') }]);
    const session = new ScanSession({ indicators: [{ set, source: 'ioc' }], maxFileBytes: 100 });
    // The file vanishes between the listing and the read.
    const check = session.checkFile.bind(session);
    session.checkFile = async (f) => {
      if (f.path.endsWith('/a')) rmSync(f.path);
      return check(f);
    };
    await scanPaths(session, [root]);
    await session.drain();
    expect(session.counters).toMatchObject({ errors: 1, matches: 1 });
    expect(session.errors).toEqual([expect.objectContaining({ path: join(root, 'd/a'), code: 'ENOENT' })]);
  });
});

describe('hashes judged malicious', () => {
  it('come from the finished jobs with a malicious verdict; torn or foreign lines are skipped', async () => {
    const journal = join(root, 'finished.jsonl');
    const job = (id: string, sha256: string, level: string) =>
      JSON.stringify({
        jobId: id,
        state: 'done',
        path: `/home/u/Downloads/${id}`,
        sha256,
        size: 1,
        provenance: { source: 'cli' },
        acceptedAt: '2026-01-01T00:00:00.000Z',
        verdict: { level, threat: level === 'malicious' ? 'EICAR-Test-File' : undefined, server: 'https://127.0.0.1:8443' },
      });
    writeFileSync(
      journal,
      [job('j1', sha('bad'), 'malicious'), job('j2', sha('good'), 'clean'), '{"torn":', job('j3', sha('bad2'), 'malicious')].join('\n') +
        '\n',
    );
    const known = await readKnownBadHashes(journal);
    expect(known.map((k) => [k.jobId, k.threat])).toEqual([
      ['j1', 'EICAR-Test-File'],
      ['j3', 'EICAR-Test-File'],
    ]);
    const set = new KnownBadHashes(known, journal);
    writeFileSync(join(root, 'again.com'), 'bad');
    const session = new ScanSession({ indicators: [{ set, source: 'verdict' }], maxFileBytes: 100 });
    await scanPaths(session, [join(root, 'again.com')]);
    await session.drain();
    expect(session.matches).toEqual([
      expect.objectContaining({
        source: 'verdict',
        iocId: 'verdict:j1',
        file: journal,
        description: expect.stringContaining('EICAR-Test-File'),
        path: join(root, 'again.com'),
      }),
    ]);
    expect(await readKnownBadHashes(join(root, 'no-journal-yet.jsonl'))).toEqual([]);
  });
});
