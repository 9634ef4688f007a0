import type { ScanSummary } from '@sandgate/shared';

const fmtBytes = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
};

/** The one-line summary printed at the end (and, on a terminal, the live status line). */
export function summaryLine(s: ScanSummary): string {
  return (
    `${s.filesSeen} files seen, ${s.skippedByPlan} skipped by plan, ${s.skippedTooLarge} over the size limit, ` +
    `${s.hashed} hashed, ${fmtBytes(s.bytesRead)} read, ${s.matches} match${s.matches === 1 ? '' : 'es'}, ${s.errors} error${s.errors === 1 ? '' : 's'}` +
    `, ${(s.elapsedMs / 1000).toFixed(1)} s${s.throttledMs ? ` (${(s.throttledMs / 1000).toFixed(1)} s paused for the CPU budget)` : ''}`
  );
}

/**
 * Progress on stderr. On a terminal: a status line redrawn in place (the total is unknown while walking, so it shows
 * running counts and a spinner rather than a percentage) and cleared at the end. Elsewhere nothing until the summary,
 * so logs and pipes get one line.
 */
export function progressReporter(err: (t: string) => void, isTTY: boolean, columns = 100) {
  const spin = '|/-\\';
  let n = 0;
  let drawn = false;
  return {
    update(s: ScanSummary, current: string): void {
      if (!isTTY) return;
      const head = `${spin[n++ % spin.length]} ${s.filesSeen} files, ${s.hashed} hashed, ${fmtBytes(s.bytesRead)}, ${s.matches} matches `;
      const room = Math.max(10, columns - head.length - 1);
      const tail = current.length > room ? '…' + current.slice(-(room - 1)) : current;
      err(`\r\x1b[2K${head}${tail}`);
      drawn = true;
    },
    finish(s: ScanSummary): void {
      if (drawn) err('\r\x1b[2K');
      err(`scan: ${summaryLine(s)}\n`);
    },
  };
}
