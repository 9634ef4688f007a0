import { randomUUID } from 'node:crypto';
import { witnessSchema, type ConsoleTask, type OnThreat } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

interface DeliverableRow {
  agent_id: string;
  id: string;
  group_task_id: string;
  state: string;
  cancel_requested: boolean;
  ioc: string;
  sha256: string;
  options: OnThreat;
  expires_at: string;
  witness: unknown;
  kind: string;
  hunt: { format: 'openioc' | 'stix' | 'yara'; name: string } | null;
  created_by: string;
}

/**
 * The shares a poll carries to the agent whose id is the SQL expression `agent` (FROM … WHERE), shared with the
 * poll's cheap "anything for me?" check: pending shares, cancels, and the `witnessed` upgrade of a share delivered
 * before its task was witnessed. `agent` is `$1` for one agent, or a column of the batched look (poll-check.ts).
 */
export const deliverableTasksFrom = (agent: string): string => `agent_tasks t JOIN group_tasks g ON g.id = t.group_task_id
  WHERE t.agent_id = ${agent}
    AND ((t.state = 'pending' AND NOT t.cancel_requested AND g.state = 'open' AND g.expires_at > now())
      OR (t.cancel_requested AND t.state IN ('pending','received','running','paused'))
      OR (t.witness_pending AND NOT t.cancel_requested AND t.state IN ('received','running','paused') AND g.state = 'open'))`;

/**
 * What each agent's poll carries: its pending shares (until it acknowledges them with progress `received`), a
 * `cancel` for each share of a cancelled task it may be running, and a `witnessed` message for each share it holds
 * whose task has been witnessed since (until a report says `witnessed: true`). For many agents in one statement: a
 * group task wakes every member's poll at once, and one statement (one commit) per member made the fan-out wait on
 * the database (bench/console-load.ts).
 */
export async function deliverableTasksFor(db: Queryable, agentIds: readonly string[]): Promise<Map<string, ConsoleTask[]>> {
  const out = new Map<string, ConsoleTask[]>(agentIds.map((id) => [id, []]));
  if (!agentIds.length) return out;
  // Reads the shares and marks the pending ones delivered in one statement. A share is handed over for the first time
  // only if this UPDATE marked it: the SELECT sees the snapshot from before a cancel that committed meanwhile, the
  // UPDATE re-checks the row and skips a share cancelled before delivery (which then gets no cancel either, as it was
  // never delivered).
  const rows = await db.query<DeliverableRow>(
    `WITH delivered AS (
       UPDATE agent_tasks d SET delivered_at = now() FROM group_tasks dg
        WHERE dg.id = d.group_task_id AND d.agent_id = ANY($1::text[]) AND d.state = 'pending' AND NOT d.cancel_requested
          AND d.delivered_at IS NULL AND dg.state = 'open' AND dg.expires_at > now()
       RETURNING d.id)
     SELECT t.agent_id, t.id, t.group_task_id, t.state, t.cancel_requested, g.ioc, g.sha256, g.options, g.expires_at, g.witness,
            g.kind, g.hunt, g.created_by
       FROM ${deliverableTasksFrom('ANY($1::text[])')}
        AND (t.cancel_requested OR t.delivered_at IS NOT NULL OR t.id IN (SELECT id FROM delivered))
      ORDER BY t.agent_id, g.created_at`,
    [agentIds],
  );
  for (const r of rows) out.get(r.agent_id)?.push(toMessage(r));
  return out;
}

/** `deliverableTasksFor` for one agent. */
export async function deliverableTasks(db: Queryable, agentId: string): Promise<ConsoleTask[]> {
  return (await deliverableTasksFor(db, [agentId])).get(agentId) ?? [];
}

function toMessage(r: DeliverableRow): ConsoleTask {
  if (r.cancel_requested) return { type: 'cancel', id: randomUUID(), taskId: r.id };
  const witness = r.witness === null ? undefined : witnessSchema.parse(r.witness);
  if (r.state !== 'pending' && witness) return { type: 'witnessed', id: randomUUID(), taskId: r.id, witness };
  const o = r.options;
  return {
    type: 'ioc-scan',
    id: r.id,
    groupTaskId: r.group_task_id,
    ioc: r.ioc,
    sha256: r.sha256,
    ...(r.kind === 'hunt' && r.hunt ? { hunt: { format: r.hunt.format, name: r.hunt.name, by: r.created_by } } : {}),
    witnessed: witness !== undefined,
    scope: o.scope,
    runMode: o.runMode,
    // A dry run still asks for the quarantine: the agent records "would quarantine" instead of doing it.
    onMatch: { quarantine: o.quarantineOnMatch, criticalAreasScan: o.criticalAreasScan && !o.dryRun },
    dryRun: o.dryRun,
    neverQuarantine: {
      paths: o.neverQuarantine.paths,
      sha256: o.neverQuarantine.sha256 ?? [],
      publishers: o.neverQuarantine.publishers ?? [],
    },
    expiresAt: r.expires_at,
  };
}
