import { SandgateError, type HuntFile, type OnThreat, type TaskProgress } from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import { ONLINE_SQL } from '../agents/agents.ts';

/** States a workstation's share can be in; the first five are not finished. */
export const OPEN_SHARE_STATES = ['held', 'pending', 'received', 'running', 'paused'] as const;
const OPEN_SQL = `('held','pending','received','running','paused')`;

/** Progress states after which a share does not change again. */
const FINAL_PROGRESS = new Set<TaskProgress['state']>(['done', 'failed', 'cancelled', 'expired']);

/** A workstation's report on its share, as `recordTaskProgress` takes it. */
export interface ShareReport {
  agentId: string;
  progress: TaskProgress;
}

/** A share a report changed, as it is after the report. */
export interface ChangedShare {
  groupTaskId: string;
  wave: string;
  state: string;
}

/** Whether a report is final (`done`, `failed`…): only those can release the canary or finish the task. */
export const isFinalProgress = (p: TaskProgress): boolean => FINAL_PROGRESS.has(p.state);

/**
 * Reports that do not finish a share (`received`, `running`, `paused`), many in one statement: 15,000 workstations
 * acknowledge a group task within seconds. Each report is applied to its own share only (id and workstation); a
 * share witnessed since it was delivered (`witness_pending`) finishes only with a report that knows it (`witnessed:
 * true`): a `done` sent before the agent heard of the witness is kept as `running`, since the agent still has to act
 * on what it found, and the first report that knows it clears the flag (the `witnessed` message stops). For each
 * report that changed its share, the share as it is now; undefined where the share is finished already, or not this
 * workstation's (left as it is). Two reports on one share go in separate statements, in order (one statement would
 * apply only one of them).
 */
export async function recordShareReports(db: Queryable, reports: readonly ShareReport[]): Promise<Array<ChangedShare | undefined>> {
  const out = new Array<ChangedShare | undefined>(reports.length).fill(undefined);
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  let rest = reports.map((r, i) => ({ r, i }));
  while (rest.length) {
    // This round: the first report on each share; the later ones on a share wait for the next round.
    const seen = new Set<string>();
    const now: typeof rest = [];
    const later: typeof rest = [];
    for (const x of rest) {
      if (seen.has(x.r.progress.taskId)) later.push(x);
      else {
        seen.add(x.r.progress.taskId);
        now.push(x);
      }
    }
    rest = later;
    const col = <T>(f: (p: TaskProgress) => T) => now.map(({ r }) => f(r.progress));
    const rows = await db.query<{ id: string; agent_id: string; group_task_id: string; wave: string; state: string }>(
      `UPDATE agent_tasks t SET
          state = CASE WHEN t.witness_pending AND NOT p.witnessed AND p.state = 'done' THEN 'running' ELSE p.state END,
          witness_pending = t.witness_pending AND NOT p.witnessed AND p.state IN ('pending','received','running','paused','done'),
          pause_reason = p.pause_reason, files_done = coalesce(p.files_done, t.files_done), matches = p.matches, error = p.error,
          unsupported = coalesce(p.unsupported, t.unsupported), term_counts = coalesce(p.term_counts, t.term_counts), updated_at = now()
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::boolean[])
          AS p(id, agent_id, state, pause_reason, files_done, matches, error, unsupported, term_counts, witnessed)
        WHERE t.id = p.id AND t.agent_id = p.agent_id AND t.state IN ('pending','received','running','paused')
        RETURNING t.id, t.agent_id, t.group_task_id, t.wave, t.state`,
      [
        col((p) => p.taskId),
        now.map(({ r }) => r.agentId),
        col((p) => p.state),
        col((p) => (p.state === 'paused' ? (p.pauseReason ?? null) : null)),
        col((p) => p.filesDone ?? null),
        col((p) => JSON.stringify(p.matches)),
        col((p) => json(p.error)),
        col((p) => json(p.unsupported)),
        col((p) => json(p.termCounts)),
        col((p) => p.witnessed === true),
      ],
    );
    const changed = new Map(rows.map((r) => [`${r.id} ${r.agent_id}`, { groupTaskId: r.group_task_id, wave: r.wave, state: r.state }]));
    for (const { r, i } of now) out[i] = changed.get(`${r.progress.taskId} ${r.agentId}`);
  }
  return out;
}

/** A report that changed nothing: the share is this workstation's and finished already, or it is refused. */
export async function unchangedShare(db: Queryable, agentId: string, taskId: string): Promise<{ wake: string[] }> {
  const known = await db.query('SELECT 1 FROM agent_tasks WHERE id = $1 AND agent_id = $2', [taskId, agentId]);
  if (!known.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no task ${taskId} for this workstation`);
  return { wake: [] };
}

/**
 * A workstation's report on its share. A finished share does not change again. When the canary wave has all
 * finished, every one `done`, the held shares are released; when no share is open any more, the task is finished.
 * Returns the workstations to wake (released shares).
 *
 * Only a share that finishes can release the canary or finish the task, so `received`, `running` and `paused` are one
 * statement (`recordShareReports`, which the agents' API also runs for many reports at once): 10,000 workstations
 * acknowledging a task at once must not each count the task's shares.
 */
export async function recordTaskProgress(db: Db, agentId: string, p: TaskProgress): Promise<{ wake: string[] }> {
  if (!isFinalProgress(p)) {
    const [changed] = await recordShareReports(db, [{ agentId, progress: p }]);
    return changed ? { wake: [] } : unchangedShare(db, agentId, p.taskId);
  }
  return db.transaction(async (tx) => {
    const share = await tx.query<{ group_task_id: string }>('SELECT group_task_id FROM agent_tasks WHERE id = $1 AND agent_id = $2', [
      p.taskId,
      agentId,
    ]);
    if (!share[0]) return unchangedShare(tx, agentId, p.taskId);
    // The task row is locked before the share (the order cancelGroupTask takes them in, so the two cannot deadlock),
    // and it serialises shares finishing at the same moment, so exactly one of them sees "nothing open" afterwards.
    const g = await tx.query<{ state: string; canary_released_at: string | null }>(
      'SELECT state, canary_released_at FROM group_tasks WHERE id = $1 FOR UPDATE',
      [share[0].group_task_id],
    );
    const [row] = await recordShareReports(tx, [{ agentId, progress: p }]);
    if (!row || !FINAL_PROGRESS.has(row.state as TaskProgress['state'])) return { wake: [] };
    if (!g[0] || g[0].state !== 'open') return { wake: [] };
    return { wake: await advance(tx, row.groupTaskId, row.wave, g[0].canary_released_at !== null) };
  });
}

/** After a share of `groupTaskId` (in `wave`) finished: release the rest after a clean canary, finish the task when nothing is open. */
async function advance(tx: Queryable, groupTaskId: string, wave: string, canaryReleased: boolean): Promise<string[]> {
  let wake: string[] = [];
  if (wave === 'canary' && !canaryReleased) {
    // EXISTS stops at the first row: a finished share costs the same in a group of 10 or of 10,000.
    const c = await tx.query<{ unfinished: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM agent_tasks WHERE group_task_id = $1 AND wave = 'canary' AND state <> 'done') AS unfinished`,
      [groupTaskId],
    );
    if (!c[0]!.unfinished) {
      await tx.query('UPDATE group_tasks SET canary_released_at = now() WHERE id = $1', [groupTaskId]);
      const released = await tx.query<{ agent_id: string }>(
        "UPDATE agent_tasks SET state = 'pending', updated_at = now() WHERE group_task_id = $1 AND state = 'held' RETURNING agent_id",
        [groupTaskId],
      );
      wake = released.map((r) => r.agent_id);
    }
  }
  await finishIfDone(tx, groupTaskId);
  return wake;
}

/**
 * A task is finished when no share is open any more, unless it would quarantine and has no witness yet: then it
 * stays open (its shares have reported what they would do) until a witness upgrades it or it expires.
 */
export async function finishIfDone(tx: Queryable, groupTaskId: string): Promise<void> {
  const open = await tx.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM agent_tasks WHERE group_task_id = $1 AND state IN ${OPEN_SQL}) AS any`,
    [groupTaskId],
  );
  if (open[0]!.any) return;
  await tx.query(
    `UPDATE group_tasks SET state = 'finished' WHERE id = $1 AND state = 'open' AND (witnessed_at IS NOT NULL OR NOT ${ACTS_SQL})`,
    [groupTaskId],
  );
}

/** Whether a group task (a `group_tasks` row in scope) would quarantine anything: only those wait for a witness. */
export const ACTS_SQL = `(coalesce((options->>'quarantineOnMatch')::boolean, false) AND NOT coalesce((options->>'dryRun')::boolean, false))`;

/**
 * Cancels a group task: shares not yet picked up are cancelled here, the others get a `cancel` with the next poll and
 * report `cancelled` (or how they finished, if they got there first). Returns the workstations to wake.
 */
export async function cancelGroupTask(db: Db, id: string, actor: string): Promise<{ wake: string[] }> {
  return db.transaction(async (tx) => {
    const g = await tx.query<{ state: string }>(
      "UPDATE group_tasks SET state = 'cancelled', cancelled_by = $2, cancelled_at = now() WHERE id = $1 AND state = 'open' RETURNING state",
      [id, actor],
    );
    if (!g.length) {
      const known = await tx.query<{ state: string }>('SELECT state FROM group_tasks WHERE id = $1', [id]);
      if (!known[0]) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${id}`);
      throw new SandgateError('CONSOLE_CONFLICT', `group task ${id} is ${known[0].state}; there is nothing to cancel`);
    }
    await tx.query(
      "UPDATE agent_tasks SET state = 'cancelled', updated_at = now() WHERE group_task_id = $1 AND (state = 'held' OR (state = 'pending' AND delivered_at IS NULL))",
      [id],
    );
    const asked = await tx.query<{ agent_id: string }>(
      "UPDATE agent_tasks SET cancel_requested = true, updated_at = now() WHERE group_task_id = $1 AND state IN ('pending','received','running','paused') RETURNING agent_id",
      [id],
    );
    return { wake: asked.map((r) => r.agent_id) };
  });
}

/** Shares of expired tasks that no workstation picked up become `expired` (called before reading). */
export async function expireShares(db: Queryable): Promise<void> {
  await db.query(
    `UPDATE agent_tasks SET state = 'expired', updated_at = now()
      WHERE state IN ('held','pending') AND group_task_id IN (SELECT id FROM group_tasks WHERE expires_at <= now())`,
  );
}

export interface ShareView {
  id: string;
  agentId: string;
  hostname: string;
  online: boolean;
  wave: string;
  /** As stored, plus `matched` (finished with matches) and `offline` (open, workstation not online). */
  state: string;
  storedState: string;
  pauseReason: string | null;
  cancelRequested: boolean;
  filesDone: number | null;
  matches: TaskProgress['matches'];
  error: { code: string; message: string } | null;
  /** The IOC terms the workstation cannot evaluate, by name (null until it reports). */
  unsupported: NonNullable<TaskProgress['unsupported']> | null;
  termCounts: TaskProgress['termCounts'] | null;
  updatedAt: string;
}

export interface GroupTaskView {
  id: string;
  /** `threat` (made from a reported object) or `hunt` (an operator's file, issue 18). */
  kind: 'threat' | 'hunt';
  /** A hunt's file as the console checked it (format, SHA-256, name, size, indicators); null for a threat's task. */
  hunt: HuntFile | null;
  group: { id: number; name: string };
  sha256: string;
  fileName: string | null;
  threat: string | null;
  source: { agentId: string | null; hostname: string | null };
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  state: string;
  options: OnThreat;
  canaryReleasedAt: string | null;
  cancelledBy: string | null;
  counts: Record<string, number>;
  shares: ShareView[];
}

export function shareDisplayState(s: { state: string; online: boolean; matches: Array<{ action?: string }> }): string {
  // Found the object, and waits for the task's second witness to quarantine it (reopened when it comes).
  if (s.state === 'done' && s.matches.some((m) => m.action === 'awaiting-witness')) return 'awaiting-witness';
  if (s.state === 'done' && s.matches.length) return 'matched';
  if (['pending', 'received', 'running', 'paused'].includes(s.state) && !s.online) return 'offline';
  return s.state;
}

export async function readGroupTask(db: Queryable, id: string): Promise<GroupTaskView> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${id}`);
  await expireShares(db);
  const g = await db.query<Record<string, any>>(
    `SELECT t.*, g.name AS group_name, s.hostname AS source_hostname FROM group_tasks t JOIN groups g ON g.id = t.group_id
       LEFT JOIN agents s ON s.id = t.source_agent_id WHERE t.id = $1`,
    [id],
  );
  const t = g[0];
  if (!t) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${id}`);
  const rows = await db.query<Record<string, any>>(
    `SELECT x.*, a.hostname, ${ONLINE_SQL} AS online FROM agent_tasks x JOIN agents a ON a.id = x.agent_id
      WHERE x.group_task_id = $1 ORDER BY a.hostname, a.id`,
    [id],
  );
  const shares = rows.map((r): ShareView => ({
    id: r.id,
    agentId: r.agent_id,
    hostname: r.hostname,
    online: r.online,
    wave: r.wave,
    state: shareDisplayState({ state: r.state, online: r.online, matches: r.matches }),
    storedState: r.state,
    pauseReason: r.pause_reason,
    cancelRequested: r.cancel_requested,
    filesDone: r.files_done,
    matches: r.matches,
    error: r.error,
    unsupported: r.unsupported ?? null,
    termCounts: r.term_counts ?? null,
    updatedAt: r.updated_at,
  }));
  const counts: Record<string, number> = {};
  for (const s of shares) {
    counts[s.state] = (counts[s.state] ?? 0) + 1;
    for (const m of s.matches) counts[`match:${m.action}`] = (counts[`match:${m.action}`] ?? 0) + 1;
  }
  return {
    id: t.id,
    kind: t.kind,
    hunt: t.hunt ?? null,
    group: { id: t.group_id, name: t.group_name },
    sha256: t.sha256,
    fileName: t.file_name,
    threat: t.threat,
    source: { agentId: t.source_agent_id, hostname: t.source_hostname },
    createdBy: t.created_by,
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    state: t.state,
    options: t.options,
    canaryReleasedAt: t.canary_released_at,
    cancelledBy: t.cancelled_by,
    counts,
    shares,
  };
}

export async function listGroupTasks(db: Queryable, limit = 50): Promise<Array<Record<string, unknown>>> {
  await expireShares(db);
  return db.query(
    `SELECT t.id, t.kind, t.hunt->>'format' AS hunt_format, g.name AS group_name, t.sha256, t.file_name, t.threat, t.state, t.created_at, t.expires_at, t.created_by,
            (t.options->>'dryRun')::boolean AS dry_run,
            -- A task that would quarantine and has no second witness yet reports only ("awaiting witness" on the page).
            (t.witnessed_at IS NULL AND ${ACTS_SQL}) AS awaiting_witness,
            (SELECT count(*)::int FROM agent_tasks x WHERE x.group_task_id = t.id) AS shares,
            (SELECT count(*)::int FROM agent_tasks x WHERE x.group_task_id = t.id AND x.state IN ${OPEN_SQL}) AS open_shares,
            (SELECT count(*)::int FROM agent_tasks x WHERE x.group_task_id = t.id AND jsonb_array_length(x.matches) > 0) AS matched_shares
       FROM group_tasks t JOIN groups g ON g.id = t.group_id ORDER BY t.created_at DESC LIMIT $1`,
    [Math.min(limit, 500)],
  );
}
