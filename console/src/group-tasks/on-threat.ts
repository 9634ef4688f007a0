import type { ShippedEvent } from '@sandgate/shared';
import type { Db } from '../db/db.ts';
import { audit } from '../audit/audit-log.ts';
import type { ChangeNotifier } from '../agent-api/change-notifier.ts';
import { recordThreatReport } from '../witness/threat-reports.ts';
import { witnessByReports } from '../witness/witness-task.ts';
import { createGroupTaskForThreat, type WitnessSettings } from './create-group-task.ts';
import { readGroupActions } from './group-actions-store.ts';

const SHA256 = /^[0-9a-f]{64}$/;

export interface OnThreatContext {
  db: Db;
  notifier: ChangeNotifier;
  log?: ((line: string) => void) | undefined;
  witness: WitnessSettings;
  /** A new task waits for a witness: the console's own sandbox look-up (when configured) asks about it now. */
  lookUp?: ((sha256: string) => void) | undefined;
}

/**
 * Group actions' trigger: a `verdict` event with level `malicious`, newly stored. Every such report is counted (the
 * "N workstations" witness); from a member of a group with `groupActions.onThreat.scan` it makes a group task whose
 * indicators the console builds from the event's SHA-256 and the facts shipped with it (`ShippedEvent.object`). The
 * OpenIOC the agent generated (`ShippedEvent.ioc`) is kept for analysts as its claim and never handed on.
 */
export async function onThreatEvents(
  ctx: OnThreatContext,
  agent: { id: string; groupId: number | null },
  fresh: readonly ShippedEvent[],
): Promise<void> {
  for (const e of fresh) {
    if (e.event.type !== 'verdict' || e.event.level !== 'malicious') continue;
    const actor = `agent:${agent.id}`;
    const sha256 = e.event.sha256;
    if (!sha256 || !SHA256.test(sha256)) {
      await audit(ctx.db, {
        actor,
        action: 'group-task.create',
        target: sha256,
        outcome: 'failed',
        details: { code: 'MESSAGE_INVALID', reason: 'the verdict names no lower-case SHA-256' },
      });
      continue;
    }
    await recordThreatReport(ctx.db, sha256, agent.id);
    if (agent.groupId !== null) await makeTask(ctx, agent.id, agent.groupId, sha256, e);
    // This report may be the one that makes enough workstations: tasks for the object in any group are witnessed.
    for (const w of await witnessByReports(ctx.db, sha256)) {
      ctx.log?.(`group task ${w.taskId} for ${sha256}: witnessed by the workstations reporting it; ${w.wake.length} to tell`);
      for (const id of w.wake) ctx.notifier.wakeAgent(id);
    }
  }
}

async function makeTask(ctx: OnThreatContext, agentId: string, groupId: number, sha256: string, e: ShippedEvent): Promise<void> {
  const actor = `agent:${agentId}`;
  const actions = await readGroupActions(ctx.db, groupId).catch(() => null);
  if (!actions?.onThreat.scan) return;
  const out = await createGroupTaskForThreat(
    ctx.db,
    {
      sourceAgentId: agentId,
      groupId,
      object: { sha256, ...e.object },
      fileName: e.event.path ? e.event.path.split(/[\\/]/).pop() : undefined,
      threat: e.event.threat,
      agentIoc: e.ioc?.sha256 === sha256 ? e.ioc.xml : undefined,
    },
    ctx.witness,
  );
  if ('refused' in out) {
    await audit(ctx.db, {
      actor,
      action: 'group-task.create',
      target: sha256,
      outcome: 'refused',
      details: {
        code: 'CONSOLE_AGENT_RATE_LIMITED',
        group: groupId,
        reason: `this workstation already has ${out.open} group task(s) waiting for a second witness`,
        limit: ctx.witness.maxOpenPerSource,
      },
    });
    return;
  }
  if (!('made' in out)) return;
  const made = out.made;
  await audit(ctx.db, {
    actor,
    action: 'group-task.create',
    target: made.id,
    outcome: 'ok',
    details: { sha256, group: made.groupId, shares: made.shares, threat: e.event.threat ?? null },
  });
  ctx.log?.(
    `group task ${made.id} for ${sha256} (${e.event.threat ?? 'malicious'}): ${made.shares} workstation(s), ${made.wake.length} now; reports only until a second witness`,
  );
  for (const id of made.wake) ctx.notifier.wakeAgent(id);
  ctx.lookUp?.(sha256);
}
