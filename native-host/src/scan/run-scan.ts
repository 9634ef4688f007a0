import type { ScanOutput, ScanSummary } from '@sandgate/shared';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import type { CriticalAreaCollector } from './critical-areas/collector.ts';
import { LinuxCriticalAreas } from './critical-areas/linux.ts';
import { CpuBudget } from './cpu-budget.ts';
import { hashThreadsFor } from './hash-pool.ts';
import { MountTable } from './mount-table.ts';
import { scanCriticalAreas } from './scan-critical-areas.ts';
import { scanPaths, systemRoots } from './scan-paths.ts';
import { ScanSession, type IndicatorSource } from './scan-session.ts';
import { systemObjectCollectors, type SystemObjectOptions } from './system-objects/linux-system-objects.ts';

export type ScanScope = 'critical' | 'system' | string[];

export interface RunScanOptions {
  kind: ScanOutput['kind'];
  scope: ScanScope;
  indicators: Array<{ set: IndicatorSet; source: IndicatorSource }>;
  maxFileBytes: number;
  /** Share of the machine (all cores) in percent; 100 turns pacing off. */
  cpuBudgetPercent: number;
  concurrency?: number;
  /** Hashing threads (default `hashThreadsFor(cpuBudgetPercent)`; 0: none). See ScanSessionOptions. */
  hashThreads?: number;
  /** Seams of the hashing threads (ScanSessionOptions): when they start and when they are stopped. */
  hashThreadsAfter?: number;
  hashThreadsMinCores?: number;
  /** Folders never entered (Sandgate's home: its queue holds the objects under analysis). */
  exclude?: string[];
  crossFilesystems?: boolean;
  /** Critical-area collectors (default: this OS's, on `/`). */
  collectors?: CriticalAreaCollector[];
  /** Root prefix for collectors' folders (fixtures). */
  root?: string;
  /** Seams of the process, socket and service collectors (run in every scope when an IOC asks for those documents). */
  systemObjects?: SystemObjectOptions;
  mounts?: MountTable;
  knownMaliciousHashes?: number;
  onProgress?: (s: ScanSummary, current: string) => void;
  signal?: AbortSignal;
}

/** The collectors that run on this OS. The Windows and macOS ones exist, but only run on fixtures here. */
export function defaultCollectors(): CriticalAreaCollector[] {
  return process.platform === 'linux' ? [new LinuxCriticalAreas({ root: '/' })] : [];
}

/** One scan from start to result: the scope walked or collected, every object checked, the result assembled. */
export async function runScan(o: RunScanOptions): Promise<ScanOutput> {
  const session = new ScanSession({
    indicators: o.indicators,
    maxFileBytes: o.maxFileBytes,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    hashThreads: o.hashThreads ?? hashThreadsFor(o.cpuBudgetPercent),
    ...(o.hashThreadsAfter !== undefined ? { hashThreadsAfter: o.hashThreadsAfter } : {}),
    ...(o.hashThreadsMinCores !== undefined ? { hashThreadsMinCores: o.hashThreadsMinCores } : {}),
    ...(o.cpuBudgetPercent < 100 ? { budget: new CpuBudget({ percent: o.cpuBudgetPercent }) } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  try {
    return await scanWith(session, o);
  } finally {
    await session.close();
  }
}

async function scanWith(session: ScanSession, o: RunScanOptions): Promise<ScanOutput> {
  const mounts = o.mounts ?? MountTable.read();
  let kernel: ScanOutput['kernel'];
  const systemObjects = systemObjectCollectors(
    o.indicators.map((i) => i.set.documents),
    o.scope === 'critical' ? 'critical' : 'files',
    o.systemObjects,
  );
  if (o.scope === 'critical') {
    const collectors = o.collectors ?? defaultCollectors();
    if (collectors.length === 0) session.note('critical', process.platform, 'no Critical Areas collector runs on this OS yet');
    kernel = await scanCriticalAreas(session, [...collectors, ...systemObjects], {
      ...(o.root ? { root: o.root } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } else {
    let roots: string[];
    if (o.scope === 'system') {
      const sys = systemRoots(mounts);
      roots = sys.roots;
      for (const m of sys.left)
        session.note('system', m.path, `${m.fsType}: not a local disk filesystem (virtual, network or image), not scanned`);
    } else roots = o.scope;
    await scanPaths(session, roots, {
      mounts,
      area: o.scope === 'system' ? 'system' : 'path',
      ...(o.crossFilesystems ? { crossFilesystems: true } : {}),
      ...(o.exclude ? { exclude: o.exclude } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    await scanCriticalAreas(session, systemObjects, o.signal ? { signal: o.signal } : {});
  }
  await session.drain();
  const unsupported = o.indicators.flatMap((i) =>
    i.set.unsupported.map((u) => ({ file: u.file, itemId: u.itemId, term: u.term, reason: u.reason })),
  );
  const termCounts = o.indicators.reduce(
    (a, i) => ({ evaluated: a.evaluated + i.set.termCounts.evaluated, unsupported: a.unsupported + i.set.termCounts.unsupported }),
    { evaluated: 0, unsupported: 0 },
  );
  return {
    kind: o.kind,
    scope: o.scope,
    startedAt: session.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    summary: { ...session.counters },
    matches: session.matches,
    unsupported,
    termCounts,
    ...(o.knownMaliciousHashes === undefined ? {} : { knownMaliciousHashes: o.knownMaliciousHashes }),
    notExamined: [...session.notExamined, ...o.indicators.flatMap((i) => i.set.notes?.() ?? [])],
    errors: session.errors,
    ...(kernel ? { kernel } : {}),
  };
}
