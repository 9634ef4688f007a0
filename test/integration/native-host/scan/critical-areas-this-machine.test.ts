import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanOutputSchema } from '@sandgate/shared';
import { runScan } from '#native-host/scan/run-scan.ts';
import { HashSetIndicators } from '../../../unit/native-host/scan/hash-set-indicators.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.runIf(process.platform === 'linux')('the Critical Areas Scan of this machine', () => {
  it('completes and finds the test process by its executable, and a running program whose file was deleted', async () => {
    // A copy of `sleep` under a new name, started and then deleted: what malware that removes itself looks like.
    const dir = mkdtempSync(join(tmpdir(), 'sg-deleted-'));
    const exe = join(dir, 'self-deleting');
    copyFileSync('/bin/sleep', exe);
    const child = spawn(exe, ['60'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    rmSync(dir, { recursive: true, force: true });
    try {
      const set = new HashSetIndicators([
        { id: 'this-node', hash: 'sha256', value: sha(readFileSync(process.execPath)) },
        { id: 'sleep', hash: 'sha256', value: sha(readFileSync('/bin/sleep')) },
      ]);
      const out = await runScan({
        kind: 'critical-areas',
        scope: 'critical',
        indicators: [{ set, source: 'ioc' }],
        maxFileBytes: 512 * 1024 * 1024,
        cpuBudgetPercent: 100,
      });
      expect(scanOutputSchema.parse(out)).toEqual(out);
      expect(out.matches).toEqual(
        expect.arrayContaining([expect.objectContaining({ iocId: 'this-node', area: 'process', pid: process.pid })]),
      );
      expect(out.matches).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            iocId: 'sleep',
            area: 'process',
            pid: child.pid,
            path: exe,
            origin: expect.stringContaining('executable deleted'),
          }),
        ]),
      );
      expect(out.summary.filesSeen).toBeGreaterThan(100);
      // Whatever could not be looked at here (modules in a container, the disk as non-root) is said, not hidden.
      for (const n of out.notExamined) expect(n.reason).not.toBe('');
      console.log(
        `critical areas of this machine: ${JSON.stringify(out.summary)}; not examined: ${out.notExamined.map((n) => `${n.what} (${n.reason})`).join('; ')}`,
      );
    } finally {
      child.kill();
    }
  });
});
