import { describe, expect, it } from 'vitest';
import { progressReporter, summaryLine } from '#native-host/scan/scan-progress.ts';

const summary = {
  filesSeen: 1200,
  skippedByPlan: 1000,
  skippedTooLarge: 2,
  hashed: 198,
  bytesRead: 5 * 1024 * 1024,
  matches: 1,
  errors: 0,
  linksSkipped: 3,
  throttledMs: 1500,
  elapsedMs: 4200,
};

describe('scan progress on stderr', () => {
  it('on a terminal, redraws one status line with the path at hand and clears it before the summary', () => {
    const out: string[] = [];
    const p = progressReporter((t) => out.push(t), true, 80);
    p.update(summary, '/a/very/long/path/'.repeat(10) + 'file.bin');
    p.finish(summary);
    expect(out[0]).toMatch(/^\r\x1b\[2K. 1200 files, 198 hashed, 5\.0 MiB, 1 matches …/);
    expect(out[0]!.length).toBeLessThanOrEqual(80 + 6);
    expect(out[0]).toMatch(/file\.bin$/);
    expect(out.slice(1)).toEqual(['\r\x1b[2K', `scan: ${summaryLine(summary)}\n`]);
  });

  it('elsewhere (a pipe, a log), prints only the final summary', () => {
    const out: string[] = [];
    const p = progressReporter((t) => out.push(t), false);
    p.update(summary, '/x');
    p.finish(summary);
    expect(out).toEqual([
      'scan: 1200 files seen, 1000 skipped by plan, 2 over the size limit, 198 hashed, 5.0 MiB read, 1 match, 0 errors, 4.2 s (1.5 s paused for the CPU budget)\n',
    ]);
  });
});
