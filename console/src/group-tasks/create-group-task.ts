import { randomUUID } from 'node:crypto';
import { groupActionsSchema } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { ONLINE_SQL } from '../agents/agents.ts';
import { objectIoc, type ObjectFacts } from './object-ioc.ts';
import { insertShares, planWaves } from './plan-waves.ts';

export interface CreatedGroupTask {
  id: string;
  groupId: number;
  /** Workstations to wake (their share is pending). */
  wake: string[];
  shares: number;
}

export interface ThreatReport {
  sourceAgentId: string;
  groupId: number;
  /** The object as reported: its SHA-256 (the verdict event's) and what the agent read besides. */
  object: ObjectFacts;
  /** The name the object had on the reporting workstation, and the sandbox's threat name: shown, never matched on. */
  fileName?: string | undefined;
  threat?: string | undefined;
  /** The reporting agent's own OpenIOC: stored for analysts as its claim, never delivered. */
  agentIoc?: string | undefined;
}

export interface WitnessSettings {
  /** The console-wide number of distinct workstations that witness an object (a group's `witness.agents` wins). */
  agents: number;
  /** At most this many unwitnessed tasks open per reporting workstation; a report beyond it makes no task. */
  maxOpenPerSource: number;
}

export type CreateOutcome =
  { made: CreatedGroupTask } | { skipped: 'no-group-actions' | 'already-open' } | { refused: 'source-cap'; open: number };

/**
 * A threat reported by `sourceAgentId`: when its group has `groupActions.onThreat.scan`, one group task for the object
 * with a share for every other member (canary and cap applied), its indicators built here from the object's facts.
 * It starts without a witness: the shares scan and report only until one arrives (witness-task.ts). Nothing when
 * the group has no such action, a task for the same object is already open there, or the reporting workstation
 * already has `maxOpenPerSource` unwitnessed tasks open (a rogue workstation cannot make its group scan without end).
 */
export async function createGroupTaskForThreat(db: Db, t: ThreatReport, w: WitnessSettings): Promise<CreateOutcome> {
  const g = await db.query<{ group_actions: unknown }>('SELECT group_actions FROM groups WHERE id = $1', [t.groupId]);
  const parsed = groupActionsSchema.safeParse(g[0]?.group_actions);
  if (!parsed.success || !parsed.data.onThreat.scan) return { skipped: 'no-group-actions' };
  const actions = parsed.data;
  const sha256 = t.object.sha256;
  return db.transaction(async (tx): Promise<CreateOutcome> => {
    // A task past its expiry no longer counts as open, so the same object caught again gets a new one.
    await tx.query(
      "UPDATE group_tasks SET state = 'expired' WHERE group_id = $1 AND sha256 = $2 AND state = 'open' AND expires_at <= now()",
      [t.groupId, sha256],
    );
    const open = await tx.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM group_tasks WHERE source_agent_id = $1 AND state = 'open' AND witnessed_at IS NULL AND expires_at > now() AND sha256 <> $2",
      [t.sourceAgentId, sha256],
    );
    if (open[0]!.n >= w.maxOpenPerSource) return { refused: 'source-cap', open: open[0]!.n };
    const id = randomUUID();
    const ins = await tx.query(
      `INSERT INTO group_tasks (id, group_id, sha256, file_name, threat, source_agent_id, created_by, expires_at, ioc, options, object, agent_ioc, witness_agents)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8), $9, $10, $11, $12, $13)
       ON CONFLICT (group_id, sha256) WHERE state = 'open' DO NOTHING RETURNING id`,
      [
        id,
        t.groupId,
        sha256,
        t.fileName ?? null,
        t.threat ?? null,
        t.sourceAgentId,
        `agent:${t.sourceAgentId}`,
        actions.taskExpiresHours * 3600,
        objectIoc(t.object, { threat: t.threat }),
        JSON.stringify(actions.onThreat),
        JSON.stringify(t.object),
        t.agentIoc ?? null,
        actions.onThreat.witness?.agents ?? w.agents,
      ],
    );
    if (!ins.length) return { skipped: 'already-open' };
    const members = await tx.query<{ id: string; online: boolean }>(
      `SELECT a.id, ${ONLINE_SQL} AS online FROM agents a WHERE a.group_id = $1 AND a.revoked_at IS NULL AND a.id <> $2 ORDER BY a.hostname, a.id`,
      [t.groupId, t.sourceAgentId],
    );
    const plan = planWaves(members, actions.onThreat);
    await insertShares(tx, id, plan);
    return { made: { id, groupId: t.groupId, wake: plan.filter((p) => p.state === 'pending').map((p) => p.agentId), shares: plan.length } };
  });
}
