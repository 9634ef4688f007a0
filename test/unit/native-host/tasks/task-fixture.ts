import type { Task } from '@sandgate/shared';

/** A stored task as the runner writes it at creation, with whatever the scenario changes. */
export function aTask(over: Partial<Task> = {}): Task {
  const at = '2026-11-01T10:00:00.000Z';
  return {
    format: 1,
    id: '0123456789abcdef',
    kind: 'ioc',
    createdAt: at,
    updatedAt: at,
    createdBy: 'cli',
    scope: ['/srv/files'],
    runMode: 'manual',
    onMatch: { quarantine: false, criticalAreasScan: false },
    state: 'created',
    runRequested: false,
    iocFiles: [{ name: '1-x.ioc', iocId: 'x', source: '/tmp/x.ioc' }],
    sha256: [],
    unsupported: [],
    termCounts: { evaluated: 1, unsupported: 0 },
    warnings: [],
    progress: { rootIndex: 0, filesDone: 0, runs: 0 },
    stats: {
      filesSeen: 0,
      skippedByPlan: 0,
      skippedTooLarge: 0,
      hashed: 0,
      bytesRead: 0,
      matches: 0,
      errors: 0,
      linksSkipped: 0,
      throttledMs: 0,
      elapsedMs: 0,
    },
    matches: [],
    notExamined: [],
    errors: [],
    resumedAt: [],
    ...over,
  };
}
