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
  if (!plan.length) return;
  // One statement whatever the group's size, its columns as arrays: a round trip per share (or per few hundred, with
  // a parameter per value) held the transaction, and the verdict's answer, for seconds at 15,000 workstations
  // (bench/console-load.ts).
  await tx.query(
    `INSERT INTO agent_tasks (id, group_task_id, agent_id, wave, state)
     SELECT x.id, $1, x.agent_id, x.wave, x.state FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS x(id, agent_id, wave, state)`,
    [taskId, plan.map(() => randomUUID()), plan.map((p) => p.agentId), plan.map((p) => p.wave), plan.map((p) => p.state)],
  );
}
