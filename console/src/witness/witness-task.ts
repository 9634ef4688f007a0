import { SandgateError, type Witness } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit } from '../audit/audit-log.ts';
import { finishIfDone } from '../group-tasks/group-tasks.ts';
import { countReporters } from './threat-reports.ts';

export interface Witnessed {
  taskId: string;
  /** Workstations to wake: they hold a share that may act now. */
  wake: string[];
}

/**
 * Upgrades an open, unexpired task that had no witness: from now on its shares may quarantine what has the object's
 * SHA-256. Shares not delivered yet get the task as witnessed; shares delivered get a `witnessed` message with their
 * next poll (until a report says it knows); a share that already finished reopens when it found the object (an `awaiting-witness` match), since the
 * workstation still has to act on it. Undefined when the task is not open, expired, or already witnessed.
 */
export async function witnessTask(db: Db, taskId: string, witness: Witness): Promise<Witnessed | undefined> {
  return db.transaction(async (tx) => {
    // The task row first, then its shares: the order cancel and progress take them in.
    const g = await tx.query(
      "UPDATE group_tasks SET witness = $2, witnessed_at = now() WHERE id = $1 AND state = 'open' AND witnessed_at IS NULL AND expires_at > now() RETURNING id",
      [taskId, JSON.stringify(witness)],
    );
    if (!g.length) return undefined;
    // Every open share, delivered or not: a poll may be handing one over right now with the snapshot from before this
    // commit (`witnessed: false`), and the delivery takes no lock on the task. Marked here, such a share gets the
    // `witnessed` message after all; a share delivered from now on comes witnessed and its first report clears the mark.
    const told = await tx.query<{ agent_id: string; delivered: boolean }>(
      `UPDATE agent_tasks SET witness_pending = true, updated_at = now()
        WHERE group_task_id = $1 AND NOT cancel_requested AND state IN ('pending','received','running','paused')
        RETURNING agent_id, delivered_at IS NOT NULL AS delivered`,
      [taskId],
    );
    const reopened = await tx.query<{ agent_id: string }>(
      `UPDATE agent_tasks SET state = 'running', witness_pending = true, updated_at = now()
        WHERE group_task_id = $1 AND state = 'done' AND matches @> '[{"action":"awaiting-witness"}]'::jsonb RETURNING agent_id`,
      [taskId],
    );
    await finishIfDone(tx, taskId);
    return { taskId, wake: [...told.filter((r) => r.delivered), ...reopened].map((r) => r.agent_id) };
  });
}

/**
 * Open tasks for `sha256` still without a witness (any group), with how many reporting workstations each needs. Only a
 * threat's tasks: a sandbox verdict or workstations' reports vouch for an object, and an operator's hunt has none (its
 * `sha256` is its file's), so only another operator's approval witnesses a hunt.
 */
async function unwitnessed(db: Db, sha256: string): Promise<Array<{ id: string; witness_agents: number }>> {
  return db.query(
    "SELECT id, witness_agents FROM group_tasks WHERE sha256 = $1 AND kind = 'threat' AND state = 'open' AND witnessed_at IS NULL AND expires_at > now()",
    [sha256],
  );
}

/** Witnesses every open task for `sha256` (a sandbox verdict is about the object, not one group's task). */
export async function witnessObject(db: Db, sha256: string, witness: Witness): Promise<Witnessed[]> {
  const out: Witnessed[] = [];
  for (const t of await unwitnessed(db, sha256)) {
    const w = await witnessTask(db, t.id, witness);
    if (!w) continue;
    out.push(w);
    await audit(db, { actor: 'console', action: 'group-task.witness', target: t.id, outcome: 'ok', details: { sha256, ...witness } });
  }
  return out;
}

/** Witnesses the open tasks for `sha256` whose required number of distinct reporting workstations is reached. */
export async function witnessByReports(db: Db, sha256: string): Promise<Witnessed[]> {
  const tasks = await unwitnessed(db, sha256);
  if (!tasks.length) return [];
  const count = await countReporters(db, sha256);
  const out: Witnessed[] = [];
  for (const t of tasks) {
    if (count < t.witness_agents) continue;
    const witness: Witness = { kind: 'agents', count, required: t.witness_agents, at: new Date().toISOString() };
    const w = await witnessTask(db, t.id, witness);
    if (!w) continue;
    out.push(w);
    await audit(db, { actor: 'console', action: 'group-task.witness', target: t.id, outcome: 'ok', details: { sha256, ...witness } });
  }
  return out;
}

/**
 * An operator's approval (`POST /api/tasks/:id/approve`, permission `manage-ioc-tasks`, audited by the caller):
 * refused with CONSOLE_CONFLICT when the task is not open, has expired, or already has a witness, and with
 * CONSOLE_FORBIDDEN when it is a hunt and `actor` made it: a hunt's second witness is a second operator.
 */
export async function approveGroupTask(db: Db, taskId: string, actor: string): Promise<Witnessed> {
  if (!/^[0-9a-f-]{36}$/.test(taskId)) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${taskId}`);
  const made = await db.query<{ kind: string; created_by: string }>('SELECT kind, created_by FROM group_tasks WHERE id = $1', [taskId]);
  if (made[0]?.kind === 'hunt' && made[0].created_by === actor)
    throw new SandgateError('CONSOLE_FORBIDDEN', `${actor} made hunt ${taskId}; another operator with manage-ioc-tasks must approve it`, {
      params: { reason: 'own-hunt' },
    });
  const w = await witnessTask(db, taskId, { kind: 'operator', by: actor, at: new Date().toISOString() });
  if (w) return w;
  const rows = await db.query<{ state: string; witnessed_at: string | null; expired: boolean }>(
    'SELECT state, witnessed_at, expires_at <= now() AS expired FROM group_tasks WHERE id = $1',
    [taskId],
  );
  const t = rows[0];
  if (!t) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${taskId}`);
  const why = t.witnessed_at ? 'already has a second witness' : t.state !== 'open' ? `is ${t.state}` : 'has expired';
  // The time as data (ISO), not in the sentence: the page shows times in the reader's own terms.
  const witnessedAt = t.witnessed_at === null ? undefined : new Date(t.witnessed_at).toISOString();
  throw new SandgateError('CONSOLE_CONFLICT', `group task ${taskId} ${why}; there is nothing to approve`, {
    ...(witnessedAt ? { params: { witnessedAt } } : {}),
  });
}
