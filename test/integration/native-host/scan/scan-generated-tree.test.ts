import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanOutputSchema } from '@sandgate/shared';
import { runScan } from '#native-host/scan/run-scan.ts';
import { HashSetIndicators } from '../../../unit/native-host/scan/hash-set-indicators.ts';

/** A generated tree: 2,000 small files in 40 folders, a few MB-sized ones, one planted object, links that lead out. */
let root: string;
let outside: string;
const planted = randomBytes(300_000);
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let smallBytes = 0;

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-tree-')));
  outside = realpathSync(mkdtempSync(join(tmpdir(), 'sg-tree-outside-')));
  writeFileSync(join(outside, 'copy-of-planted.bin'), planted);
  for (let d = 0; d < 40; d++) {
    const dir = join(root, `dir-${d}`, 'sub');
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 50; f++) {
      const b = randomBytes(100 + ((d * 50 + f) % 4000));
      smallBytes += b.length;
      writeFileSync(join(dir, `f-${f}.dat`), b);
    }
  }
  for (let i = 0; i < 3; i++) writeFileSync(join(root, `big-${i}.bin`), randomBytes(3 * 1024 * 1024));
  writeFileSync(join(root, 'dir-7', 'payload.exe'), planted);
  symlinkSync(outside, join(root, 'dir-3', 'to-outside'));
  symlinkSync(join(outside, 'copy-of-planted.bin'), join(root, 'dir-4', 'planted-link.exe'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('an IOC scan of a generated tree', () => {
  it('with indicators that constrain size, reads only the files of that size and finds the planted object once', async () => {
    const set = new HashSetIndicators([
      ...Array.from({ length: 200 }, (_, i) => ({
        id: `decoy-${i}`,
        hash: 'sha256' as const,
        value: sha(`decoy ${i}`),
        size: 250_000 + i,
      })),
      { id: 'planted', hash: 'sha256', value: sha(planted), size: planted.length },
    ]);
    const out = await runScan({
      kind: 'ioc',
      scope: [root],
      indicators: [{ set, source: 'ioc' }],
      maxFileBytes: 64 * 1024 * 1024,
      cpuBudgetPercent: 100,
    });
    expect(scanOutputSchema.parse(out)).toEqual(out);
    expect(out.summary).toMatchObject({
      filesSeen: 2004,
      skippedByPlan: 2003,
      hashed: 1,
      bytesRead: planted.length,
      matches: 1,
      errors: 0,
      linksSkipped: 2,
    });
    expect(out.matches).toEqual([
      expect.objectContaining({ path: join(root, 'dir-7', 'payload.exe'), iocId: 'planted', area: 'path', sha256: sha(planted) }),
    ]);
    expect(out.unsupported).toEqual([expect.objectContaining({ term: 'FileItem/PEInfo/DigitalSignature/SignatureExists' })]);
  });

  it('when every file must be hashed, reads each once and skips those over the size limit', async () => {
    const set = new HashSetIndicators([{ id: 'planted', hash: 'sha256', value: sha(planted) }]);
    const out = await runScan({
      kind: 'ioc',
      scope: [root],
      indicators: [{ set, source: 'ioc' }],
      maxFileBytes: 1024 * 1024,
      cpuBudgetPercent: 100,
      concurrency: 8,
    });
    expect(out.summary).toMatchObject({
      filesSeen: 2004,
      skippedByPlan: 0,
      skippedTooLarge: 3,
      hashed: 2001,
      bytesRead: smallBytes + planted.length,
      matches: 1,
    });
  });

  it('under a CPU budget still completes with the same result, and says how long it paused', async () => {
    const set = new HashSetIndicators([{ id: 'planted', hash: 'sha256', value: sha(planted) }]);
    const out = await runScan({
      kind: 'ioc',
      scope: [join(root, 'dir-7')],
      indicators: [{ set, source: 'ioc' }],
      maxFileBytes: 1 << 20,
      cpuBudgetPercent: 5,
    });
    expect(out.matches).toHaveLength(1);
    expect(out.summary.throttledMs).toBeGreaterThanOrEqual(0);
  });
});
