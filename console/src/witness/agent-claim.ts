import { SandgateError } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

/**
 * What the reporting workstation itself said about a group task's object: the OpenIOC it generated and the facts it
 * shipped. Kept for analysts (`GET /api/tasks/:id/agent-ioc`), labelled as a claim: no workstation is ever given it,
 * since the task's indicators are built by the console from the object's hashes.
 */
export async function readAgentClaim(
  db: Queryable,
  taskId: string,
): Promise<{ claimedBy: string | null; note: string; object: unknown; ioc: string | null }> {
  if (!/^[0-9a-f-]{36}$/.test(taskId)) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${taskId}`);
  const rows = await db.query<{ source_agent_id: string | null; object: unknown; agent_ioc: string | null }>(
    'SELECT source_agent_id, object, agent_ioc FROM group_tasks WHERE id = $1',
    [taskId],
  );
  const t = rows[0];
  if (!t) throw new SandgateError('CONSOLE_NOT_FOUND', `no group task ${taskId}`);
  return {
    claimedBy: t.source_agent_id === null ? null : `agent:${t.source_agent_id}`,
    note: "the reporting workstation's own IOC and facts: its claim, not checked by the console and never used by the task",
    object: t.object,
    ioc: t.agent_ioc,
  };
}
