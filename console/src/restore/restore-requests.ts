import { randomUUID } from 'node:crypto';
import { SandgateError, type ConsoleTask, type RestoreProgress, type RestoreRequestBody } from '@sandgate/shared';
import { audit } from '../audit/audit-log.ts';
import type { Db, Queryable } from '../db/db.ts';
import { ONLINE_SQL } from '../agents/agents.ts';
import { setGroupPolicy } from '../groups/groups.ts';

/** A restore message waits this long for an offline workstation; after that it is shown `expired`. */
const RESTORE_EXPIRES_HOURS = 24 * 7;

/**
 * A restore of one object (by SHA-256) on one workstation or on every non-revoked member of a group: one share per
 * workstation, delivered with its next poll. Returns the workstations to wake.
 */
export async function createRestoreRequest(db: Db, body: RestoreRequestBody, actor: string): Promise<CreatedRestore> {
  return db.transaction((tx) => createRestoreRequestIn(tx, body, actor));
}

export interface CreatedRestore {
  id: string;
  wake: string[];
  duplicate?: true;
  allowed?: { groupId: number; revision: number };
}

/** `createRestoreRequest` inside a transaction the caller holds (an approved employee's request, restore-inbox.ts). */
export async function createRestoreRequestIn(tx: Queryable, body: RestoreRequestBody, actor: string): Promise<CreatedRestore> {
  // Two administrators (or one double click) asking for the same restore at once: one request, not two.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['restore:' + body.sha256]);
  let agents: string[];
  let groupId: number | null = null;
  let allowIn: number | null = null;
  if ('agentId' in body) {
    const a = await tx.query<{ id: string; group_id: number | null }>(
      'SELECT id, group_id FROM agents WHERE id = $1 AND revoked_at IS NULL',
      [body.agentId],
    );
    if (!a.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no workstation ${body.agentId}`);
    agents = [body.agentId];
    if (body.allow) {
      // The allow list lives in a group's policy; a workstation on its own local policy has none the console can change.
      if (a[0]!.group_id === null) {
        throw new SandgateError(
          'CONSOLE_CONFLICT',
          `workstation ${body.agentId} is in no group, so there is no group policy to add the false positive to: assign it to a group, or restore without allow`,
          {
            params: { agentId: body.agentId, reason: 'no-group' },
          },
        );
      }
      allowIn = Number(a[0]!.group_id);
    }
  } else {
    const g = await tx.query<{ id: number }>('SELECT id FROM groups WHERE id = $1', [body.groupId]);
    if (!g.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${body.groupId}`);
    groupId = body.groupId;
    agents = (
      await tx.query<{ id: string }>('SELECT id FROM agents WHERE group_id = $1 AND revoked_at IS NULL ORDER BY hostname, id', [groupId])
    ).map((r) => r.id);
    if (!agents.length) throw new SandgateError('CONSOLE_CONFLICT', `group ${body.groupId} has no workstation to restore on`);
    if (body.allow) allowIn = groupId;
  }
  const same = await openRequestFor(tx, body.sha256, groupId, agents);
  if (same && allowIn === null) return { id: same, wake: [], duplicate: true };
  const id = same ?? randomUUID();
  if (!same) await insertRequest(tx, id, body.sha256, groupId, actor, agents);
  if (allowIn === null) return { id, wake: agents };
  const revision = await allowInGroupPolicy(tx, allowIn, body.sha256, actor);
  await audit(tx, {
    actor,
    action: 'group.allow-sha256',
    target: String(allowIn),
    outcome: 'ok',
    details: { sha256: body.sha256, restoreId: id, revision },
  });
  return { id, wake: same ? [] : agents, ...(same ? { duplicate: true as const } : {}), allowed: { groupId: allowIn, revision } };
}

/**
 * The request still waiting on some of the same workstations for the same object, if there is one: asking again
 * while it runs answers it rather than sending every workstation a second restore.
 */
async function openRequestFor(tx: Queryable, sha256: string, groupId: number | null, agents: string[]): Promise<string | undefined> {
  const rows = await tx.query<{ id: string }>(
    `SELECT r.id FROM restore_requests r
      WHERE r.sha256 = $1 AND r.group_id IS NOT DISTINCT FROM $2 AND r.expires_at > now()
        AND EXISTS (SELECT 1 FROM restore_shares s WHERE s.request_id = r.id AND s.state = 'pending')
        AND (SELECT array_agg(s.agent_id ORDER BY s.agent_id) FROM restore_shares s WHERE s.request_id = r.id) = $3::text[]
      ORDER BY r.created_at DESC LIMIT 1`,
    [sha256, groupId, [...agents].sort()],
  );
  return rows[0]?.id;
}

async function insertRequest(tx: Queryable, id: string, sha256: string, groupId: number | null, actor: string, agents: string[]) {
  await tx.query(
    'INSERT INTO restore_requests (id, sha256, group_id, created_by, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))',
    [id, sha256, groupId, actor, RESTORE_EXPIRES_HOURS * 3600],
  );
  for (const agentId of agents)
    await tx.query('INSERT INTO restore_shares (id, request_id, agent_id) VALUES ($1, $2, $3)', [randomUUID(), id, agentId]);
}

/**
 * Adds a SHA-256 to a group's `response.allowSha256` with the same function the policy editor uses (validation, next
 * revision, which the members pick up with their next poll). Already listed: nothing changes, the revision stays.
 */
async function allowInGroupPolicy(tx: Queryable, groupId: number, sha256: string, actor: string): Promise<number> {
  const g = (
    await tx.query<{ policy: Record<string, unknown> | null; policy_revision: number }>(
      'SELECT policy, policy_revision FROM groups WHERE id = $1 FOR UPDATE',
      [groupId],
    )
  )[0];
  if (!g) throw new SandgateError('CONSOLE_NOT_FOUND', `no group with id ${groupId}`);
  // Agents of a group without a policy keep their local one, which the console cannot add to.
  if (g.policy === null) {
    throw new SandgateError(
      'CONSOLE_CONFLICT',
      `group ${groupId} has no policy of its own (its workstations keep their local policy): set one, or restore without allow`,
      {
        params: { groupId, reason: 'no-group-policy' },
      },
    );
  }
  const response = (g.policy['response'] ?? {}) as Record<string, unknown>;
  const list = Array.isArray(response['allowSha256']) ? (response['allowSha256'] as unknown[]) : [];
  if (list.includes(sha256)) return Number(g.policy_revision);
  const { revision } = await setGroupPolicy(tx, groupId, { ...g.policy, response: { ...response, allowSha256: [...list, sha256] } }, actor);
  return Number(revision);
}

/**
 * The restore shares a poll carries to the agent whose id is the SQL expression `agent` (FROM … WHERE), shared with
 * the poll's "anything for me?" check.
 */
export const deliverableRestoresFrom = (agent: string): string => `restore_shares s JOIN restore_requests r ON r.id = s.request_id
  WHERE s.agent_id = ${agent} AND s.state = 'pending' AND r.expires_at > now()`;

/**
 * The restore messages a poll carries: every pending share, until the workstation reports on it. A workstation that
 * gets one twice (its report was lost) finds the item already gone and reports nothing more to restore.
 */
export async function deliverableRestores(db: Queryable, agentId: string): Promise<ConsoleTask[]> {
  const rows = await db.query<{ id: string; request_id: string; sha256: string; expires_at: string }>(
    `SELECT s.id, s.request_id, r.sha256, r.expires_at FROM ${deliverableRestoresFrom('$1')} ORDER BY r.created_at`,
    [agentId],
  );
  if (!rows.length) return [];
  await db.query("UPDATE restore_shares SET delivered_at = coalesce(delivered_at, now()) WHERE agent_id = $1 AND state = 'pending'", [
    agentId,
  ]);
  return rows.map((r): ConsoleTask => ({
    type: 'restore',
    id: r.id,
    groupTaskId: r.request_id,
    sha256: r.sha256,
    expiresAt: new Date(r.expires_at).toISOString(),
  }));
}

/** A workstation's report on its share; a share already reported does not change again. */
export async function recordRestoreProgress(db: Queryable, agentId: string, p: RestoreProgress): Promise<void> {
  const rows = await db.query(
    "UPDATE restore_shares SET state = $3, items = $4, error = $5, updated_at = now() WHERE id = $1 AND agent_id = $2 AND state = 'pending' RETURNING id",
    [p.taskId, agentId, p.state, JSON.stringify(p.items), p.error ? JSON.stringify(p.error) : null],
  );
  if (rows.length) return;
  const known = await db.query('SELECT 1 FROM restore_shares WHERE id = $1 AND agent_id = $2', [p.taskId, agentId]);
  if (!known.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no restore ${p.taskId} for this workstation`);
}

export interface RestoreShareView {
  agentId: string;
  hostname: string;
  online: boolean;
  /** As stored, `offline` for a pending share whose workstation is not online. */
  state: string;
  items: RestoreProgress['items'];
  error: { code: string; message: string } | null;
  updatedAt: string;
}

export interface RestoreRequestView {
  id: string;
  sha256: string;
  groupId: number | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  shares: RestoreShareView[];
}

export async function readRestoreRequest(db: Queryable, id: string): Promise<RestoreRequestView> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new SandgateError('CONSOLE_NOT_FOUND', `no restore request ${id}`);
  const r = (await db.query<Record<string, any>>('SELECT * FROM restore_requests WHERE id = $1', [id]))[0];
  if (!r) throw new SandgateError('CONSOLE_NOT_FOUND', `no restore request ${id}`);
  const rows = await db.query<Record<string, any>>(
    `SELECT s.*, a.hostname, ${ONLINE_SQL} AS online, r.expires_at <= now() AS expired FROM restore_shares s
       JOIN agents a ON a.id = s.agent_id JOIN restore_requests r ON r.id = s.request_id
      WHERE s.request_id = $1 ORDER BY a.hostname, a.id`,
    [id],
  );
  return {
    id: r.id,
    sha256: r.sha256,
    groupId: r.group_id === null ? null : Number(r.group_id),
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    shares: rows.map((s) => ({
      agentId: s.agent_id,
      hostname: s.hostname,
      online: s.online,
      state: s.state === 'pending' ? (s.expired ? 'expired' : s.online ? 'pending' : 'offline') : s.state,
      items: s.items,
      error: s.error,
      updatedAt: s.updated_at,
    })),
  };
}

export async function listRestoreRequests(db: Queryable, limit = 50): Promise<Array<Record<string, unknown>>> {
  return db.query(
    `SELECT r.id, r.sha256, r.group_id, r.created_by, r.created_at,
            (SELECT count(*)::int FROM restore_shares s WHERE s.request_id = r.id) AS shares,
            (SELECT count(*)::int FROM restore_shares s WHERE s.request_id = r.id AND s.state = 'pending') AS pending
       FROM restore_requests r ORDER BY r.created_at DESC LIMIT $1`,
    [Math.min(limit, 500)],
  );
}
