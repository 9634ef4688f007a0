import { resolve, sep } from 'node:path';
import type { ScanOutput } from '@sandgate/shared';
import type { CriticalAreaCollector } from '../scan/critical-areas/collector.ts';
import { CpuBudget } from '../scan/cpu-budget.ts';
import { hashThreadsFor } from '../scan/hash-pool.ts';
import type { MountTable } from '../scan/mount-table.ts';
import { scanCriticalAreas } from '../scan/scan-critical-areas.ts';
import { ScanSession, type IndicatorSource } from '../scan/scan-session.ts';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import { walkTree } from '../scan/walk-tree.ts';
import { systemObjectCollectors, type SystemObjectOptions } from '../scan/system-objects/linux-system-objects.ts';
import { resumePoint, type WalkPosition } from './resume-position.ts';

export interface TaskScanOptions {
  /** `critical`, or the roots of a file scope (the `system` scope resolved to its filesystems). */
  scope: 'critical' | string[];
  position: WalkPosition;
  indicators: ReadonlyArray<{ set: IndicatorSet; source: IndicatorSource }>;
  maxFileBytes: number;
  cpuBudgetPercent: number;
  /** Folders never entered (Sandgate's home). */
  exclude: readonly string[];
  mounts?: MountTable;
  collectors: readonly CriticalAreaCollector[];
  collectorRoot?: string;
  /** Seams of the process, socket and service collectors (any scope, when an IOC asks for those documents). */
  systemObjects?: SystemObjectOptions;
  /** Aborted to pause, cancel or stop: the scan ends after the file at hand, with a checkpoint. */
  signal: AbortSignal;
  /** Hashing threads (default `hashThreadsFor(cpuBudgetPercent)`; 0: none). See ScanSessionOptions. */
  hashThreads?: number;
  /** How many files between checkpoints. */
  checkpointEvery: number;
  /** Called with every read finished: the position, and the session (counters, matches, notes so far). */
  checkpoint: (position: WalkPosition, session: ScanSession) => Promise<void>;
}

export interface TaskScanResult {
  outcome: 'completed' | 'stopped';
  session: ScanSession;
  kernel?: ScanOutput['kernel'];
}

/**
 * One run of a task: the scope from its position to the end, or until the signal aborts. A checkpoint drains the
 * reads in flight first, so "last path" means that file and every one before it in walk order are finished. The
 * `critical` scope is collected afresh each run (processes come and go): it has no position, only a final checkpoint.
 */
export async function runTaskScan(o: TaskScanOptions): Promise<TaskScanResult> {
  const session = new ScanSession({
    indicators: o.indicators,
    maxFileBytes: o.maxFileBytes,
    ...(o.cpuBudgetPercent < 100 ? { budget: new CpuBudget({ percent: o.cpuBudgetPercent }) } : {}),
    hashThreads: o.hashThreads ?? hashThreadsFor(o.cpuBudgetPercent),
  });
  try {
    return await scanFromPosition(session, o);
  } finally {
    // The hashing threads end with the run (a paused task starts new ones when it resumes).
    await session.close();
  }
}

async function scanFromPosition(session: ScanSession, o: TaskScanOptions): Promise<TaskScanResult> {
  const systemObjects = systemObjectCollectors(
    o.indicators.map((i) => i.set.documents),
    o.scope === 'critical' ? 'critical' : 'files',
    o.systemObjects,
  );
  if (o.scope === 'critical') {
    if (o.collectors.length === 0) session.note('critical', process.platform, 'no Critical Areas collector runs on this OS yet');
    const kernel = await scanCriticalAreas(session, [...o.collectors, ...systemObjects], {
      signal: o.signal,
      ...(o.collectorRoot ? { root: o.collectorRoot } : {}),
    });
    await session.drain();
    await o.checkpoint({ rootIndex: 0 }, session);
    return { outcome: o.signal.aborted ? 'stopped' : 'completed', session, ...(kernel ? { kernel } : {}) };
  }

  const exclude = o.exclude.map((p) => resolve(p));
  const excluded = (p: string) => exclude.some((x) => p === x || p.startsWith(x.endsWith(sep) ? x : x + sep));
  const roots = o.scope;
  let since = 0;
  for (let i = o.position.rootIndex; i < roots.length; i++) {
    const root = roots[i]!;
    const resume = i === o.position.rootIndex && o.position.lastPath ? resumePoint(root, o.position.lastPath) : undefined;
    let lastPath = resume ? o.position.lastPath : undefined;
    if (!resume?.rootDone) {
      for await (const ev of walkTree(root, {
        oneFilesystem: true,
        ...(o.mounts ? { mounts: o.mounts } : {}),
        skipDir: (p) => excluded(p) || !!resume?.skipDir(p),
      })) {
        if (o.signal.aborted) {
          await session.drain();
          await o.checkpoint({ rootIndex: i, lastPath }, session);
          return { outcome: 'stopped', session };
        }
        switch (ev.kind) {
          case 'file':
            if (resume?.fileDone(ev.path) || excluded(ev.path)) break;
            await session.checkFile({ path: ev.path, stat: ev.stat, area: 'path' });
            lastPath = ev.path;
            if (++since >= o.checkpointEvery) {
              since = 0;
              await session.drain();
              await o.checkpoint({ rootIndex: i, lastPath }, session);
            }
            break;
          case 'link':
            session.counters.linksSkipped++;
            break;
          case 'skipped-mount':
            if (!roots.includes(ev.path)) session.note('path', ev.path, `${ev.fsType}: ${ev.reason}`);
            break;
          case 'error':
            session.error(ev.path, Object.assign(new Error(ev.message), { code: ev.code }));
            break;
        }
      }
      // The walk also ends early when the signal aborts between folders: that is a stop, not the end of the root.
      if (o.signal.aborted) {
        await session.drain();
        await o.checkpoint({ rootIndex: i, lastPath }, session);
        return { outcome: 'stopped', session };
      }
    }
  }
  // Processes, sockets and services once the files are done. A stop meanwhile keeps the position past the last root,
  // so the next run looks at them (only) again; a match found twice is kept once per task.
  await scanCriticalAreas(session, systemObjects, { signal: o.signal });
  await session.drain();
  await o.checkpoint({ rootIndex: roots.length }, session);
  return { outcome: o.signal.aborted ? 'stopped' : 'completed', session };
}
