import type { Task } from '@sandgate/shared';
import { AWAITING_WITNESS } from './task-guard.ts';

/**
 * A console task whose object was witnessed: the quarantines held back for the witness (`skipped` with
 * GROUP_TASK_AWAITING_WITNESS) become `pending` again, so the runner acts on them, deciding each again with the
 * guard as it now is (the object's SHA-256, never-quarantine, dry run). Nothing else changes: a match that is not the
 * object stays reported. Undefined when there was nothing to re-arm.
 */
export function rearmAwaitingWitness(t: Task): Task | undefined {
  let changed = false;
  const matches = t.matches.map((m) => {
    if (!m.actions.some((a) => a.type === 'quarantine' && a.status === 'skipped' && a.code === AWAITING_WITNESS)) return m;
    changed = true;
    return {
      ...m,
      actions: m.actions.map((a) =>
        a.type === 'quarantine' && a.status === 'skipped' && a.code === AWAITING_WITNESS
          ? { type: 'quarantine' as const, status: 'pending' as const }
          : a,
      ),
    };
  });
  return changed ? { ...t, matches } : undefined;
}
