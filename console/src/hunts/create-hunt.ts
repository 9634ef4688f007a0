import { randomUUID } from 'node:crypto';
import { groupActionsSchema, SandgateError, type HuntOptions, type OnThreat } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { ONLINE_SQL } from '../agents/agents.ts';
import { insertShares, planWaves } from '../group-tasks/plan-waves.ts';
import type { CheckedHunt } from './check-hunt-file.ts';

export interface CreatedHunt {
  id: string;
  groupId: number;
  /** Workstations to wake (their share is pending now). */
  wake: string[];
  shares: number;
  /** It would quarantine: it scans and reports only until another operator approves it. */
  awaitingApproval: boolean;
}

/**
 * An operator's hunt for a group (issue 18): one group task of kind `hunt`, whose indicators are the checked file's
 * text, with a share for every member that is not revoked, planned like a threat's task (online first, the cap, the
 * canary). Its options are stored in the shape of a threat's (`OnThreat`), so delivery, progress, cancel and the page
 * treat both alike; the group's standing never-quarantine lists (its `groupActions`) are added to the hunt's own.
 * A hunt that would quarantine starts without a witness: only another operator's approval gives it one (the sandbox
 * and workstation witnesses vouch for an object, and a hunt has none). One open hunt per file and group
 * (CONSOLE_CONFLICT); a group without workstations gets none (CONSOLE_CONFLICT); an unknown group CONSOLE_NOT_FOUND.
 */
export async function createHunt(db: Db, groupId: number, hunt: CheckedHunt, o: HuntOptions, actor: string): Promise<CreatedHunt> {
  return db.transaction(async (tx) => {
    const g = await tx.query<{ group_actions: unknown }>('SELECT group_actions FROM groups WHERE id = $1', [groupId]);
    if (!g[0]) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${groupId}`);
    const standing = groupActionsSchema.safeParse(g[0].group_actions);
    const keep = standing.success ? standing.data.onThreat.neverQuarantine : { paths: [], sha256: [], publishers: [] };
    const options: OnThreat = {
      scan: true,
      quarantineOnMatch: o.quarantineOnMatch,
      criticalAreasScan: o.criticalAreasScan,
      dryRun: o.dryRun,
      ...(o.canaryPercent !== undefined ? { canaryPercent: o.canaryPercent } : {}),
      ...(o.maxWorkstations !== undefined ? { maxWorkstations: o.maxWorkstations } : {}),
      scope: o.scope,
      runMode: o.runMode,
      neverQuarantine: {
        paths: unique([...keep.paths, ...o.neverQuarantine.paths]),
        sha256: unique([...(keep.sha256 ?? []), ...(o.neverQuarantine.sha256 ?? [])]),
        publishers: [...keep.publishers, ...o.neverQuarantine.publishers],
      },
    };
    const members = await tx.query<{ id: string; online: boolean }>(
      `SELECT a.id, ${ONLINE_SQL} AS online FROM agents a WHERE a.group_id = $1 AND a.revoked_at IS NULL ORDER BY a.hostname, a.id`,
      [groupId],
    );
    if (!members.length) throw new SandgateError('CONSOLE_CONFLICT', `group ${groupId} has no workstation to hunt on; nothing was created`);
    // A task past its expiry no longer counts as open, so the same file can be hunted with again.
    await tx.query(
      "UPDATE group_tasks SET state = 'expired' WHERE group_id = $1 AND sha256 = $2 AND state = 'open' AND expires_at <= now()",
      [groupId, hunt.file.sha256],
    );
    const id = randomUUID();
    const ins = await tx.query(
      `INSERT INTO group_tasks (id, kind, group_id, sha256, file_name, created_by, expires_at, ioc, options, hunt)
       VALUES ($1, 'hunt', $2, $3, $4, $5, now() + make_interval(secs => $6), $7, $8, $9)
       ON CONFLICT (group_id, sha256) WHERE state = 'open' DO NOTHING RETURNING id`,
      [
        id,
        groupId,
        hunt.file.sha256,
        hunt.file.name,
        actor,
        o.expiresHours * 3600,
        hunt.text,
        JSON.stringify(options),
        JSON.stringify(hunt.file),
      ],
    );
    if (!ins.length) {
      const open = await tx.query<{ id: string }>("SELECT id FROM group_tasks WHERE group_id = $1 AND sha256 = $2 AND state = 'open'", [
        groupId,
        hunt.file.sha256,
      ]);
      throw new SandgateError('CONSOLE_CONFLICT', `a task with this file (${hunt.file.sha256}) is already open in group ${groupId}`, {
        params: { taskId: open[0]?.id ?? null },
      });
    }
    const plan = planWaves(members, options);
    await insertShares(tx, id, plan);
    return {
      id,
      groupId,
      wake: plan.filter((p) => p.state === 'pending').map((p) => p.agentId),
      shares: plan.length,
      awaitingApproval: options.quarantineOnMatch && !options.dryRun,
    };
  });
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
