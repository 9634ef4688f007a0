import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.ts';

/** A member as the fan-out sees it: online members are served first (canary and cap). */
export interface Member {
  id: string;
  online: boolean;
}

export type Wave = 'canary' | 'rest' | 'all';
export interface PlannedShare {
  agentId: string;
  wave: Wave;
  /** `pending`: delivered at the next poll; `held`: waits for the canary; `over-limit`: beyond maxWorkstations. */
  state: 'pending' | 'held' | 'over-limit';
}

/**
 * Who gets a group task and when. Members come in the order they should be served (online first, then by name): the
 * first `maxWorkstations` are given the task, the others are listed as over the limit; with `canaryPercent`, the
 * first share (at least one workstation) gets it now and the rest are held until every canary finished cleanly.
 */
export function planWaves(
  members: readonly Member[],
  o: { canaryPercent?: number | undefined; maxWorkstations?: number | undefined },
): PlannedShare[] {
  const ordered = [...members].sort((a, b) => Number(b.online) - Number(a.online));
  const cap = o.maxWorkstations ?? ordered.length;
  const chosen = ordered.slice(0, cap);
  const over = ordered.slice(cap).map((m): PlannedShare => ({ agentId: m.id, wave: 'all', state: 'over-limit' }));
  const canary = o.canaryPercent === undefined ? chosen.length : Math.max(1, Math.ceil((chosen.length * o.canaryPercent) / 100));
  if (canary >= chosen.length) return [...chosen.map((m): PlannedShare => ({ agentId: m.id, wave: 'all', state: 'pending' })), ...over];
  return [
    ...chosen.slice(0, canary).map((m): PlannedShare => ({ agentId: m.id, wave: 'canary', state: 'pending' })),
    ...chosen.slice(canary).map((m): PlannedShare => ({ agentId: m.id, wave: 'rest', state: 'held' })),
    ...over,
  ];
}

/** Stores the shares of group task `taskId` as planned. */
export async function insertShares(tx: Queryable, taskId: string, plan: readonly PlannedShare[]): Promise<void> {
  // Several hundred shares per statement: one round trip each for a 10,000-workstation group would hold the
  // transaction (and the verdict's answer) for minutes on a busy console (bench/console-load.ts).
  for (let i = 0; i < plan.length; i += 500) {
    const chunk = plan.slice(i, i + 500);
    const params: unknown[] = [taskId];
    const rows = chunk.map((p) => {
      params.push(randomUUID(), p.agentId, p.wave, p.state);
      const n = params.length;
      return `($${n - 3}, $1, $${n - 2}, $${n - 1}, $${n})`;
    });
    await tx.query(`INSERT INTO agent_tasks (id, group_task_id, agent_id, wave, state) VALUES ${rows.join(', ')}`, params);
  }
}
