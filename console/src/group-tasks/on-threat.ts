import type { ShippedEvent } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit } from '../audit/audit-log.ts';
import type { ChangeNotifier } from '../agent-api/change-notifier.ts';
import { createGroupTaskForThreat } from './group-tasks.ts';
import { readGroupActions } from './group-actions-store.ts';

/**
 * Group actions' trigger: a `verdict` event with level `malicious`, newly stored, from a member of a group. The agent
 * ships the OpenIOC it generated with the event (`ShippedEvent.ioc`); a verdict without one (an older agent, or an
 * object the agent could no longer describe) starts nothing, and says so in the audit log.
 */
export async function onThreatEvents(
  ctx: { db: Db; notifier: ChangeNotifier; log?: ((line: string) => void) | undefined },
  agent: { id: string; groupId: number | null },
  fresh: readonly ShippedEvent[],
): Promise<void> {
  if (agent.groupId === null) return;
  for (const e of fresh) {
    if (e.event.type !== 'verdict' || e.event.level !== 'malicious') continue;
    const actor = `agent:${agent.id}`;
    const actions = await readGroupActions(ctx.db, agent.groupId).catch(() => null);
    if (!actions?.onThreat.scan) continue;
    if (!e.ioc || e.ioc.sha256 !== e.event.sha256) {
      await audit(ctx.db, { actor, action: 'group-task.create', target: e.event.sha256, outcome: 'failed', details: { code: 'MESSAGE_INVALID', reason: 'the verdict came without its IOC' } });
      continue;
    }
    const made = await createGroupTaskForThreat(ctx.db, { sourceAgentId: agent.id, groupId: agent.groupId, event: e.event, ioc: e.ioc });
    if (!made) continue;
    await audit(ctx.db, { actor, action: 'group-task.create', target: made.id, outcome: 'ok', details: { sha256: e.ioc.sha256, group: made.groupId, shares: made.shares, threat: e.event.threat ?? null } });
    ctx.log?.(`group task ${made.id} for ${e.ioc.sha256} (${e.event.threat ?? 'malicious'}): ${made.shares} workstation(s), ${made.wake.length} now`);
    for (const id of made.wake) ctx.notifier.wakeAgent(id);
  }
}
