import { join } from 'node:path';
import type { Task } from '@sandgate/shared';
import type { IndicatorSet } from '../ioc/indicator-set.ts';
import { compileTaskIocs } from './compile-task-iocs.ts';
import { isFinished } from './task-state.ts';
import { IOC_DIR } from './task-store.ts';

/**
 * The IOCs of every IOC scan task still active (not completed, failed or cancelled): what a Critical Areas Scan checks
 * besides the hashes judged malicious. A task whose IOCs no longer compile is reported through `onError` and skipped.
 */
export function activeTaskIndicators(
  tasksDir: string,
  tasks: readonly Task[],
  onError: (taskId: string, err: unknown) => void,
  exceptId?: string,
): IndicatorSet[] {
  const sets: IndicatorSet[] = [];
  for (const t of tasks) {
    if (t.id === exceptId || t.kind !== 'ioc' || isFinished(t) || t.iocFiles.length === 0) continue;
    try {
      sets.push(compileTaskIocs(join(tasksDir, t.id, IOC_DIR)));
    } catch (err) {
      onError(t.id, err);
    }
  }
  return sets;
}
