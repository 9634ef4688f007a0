import { randomUUID } from 'node:crypto';
import { SandgateError, type ConsoleTask, type RestoreInboxQuery, type RestoreInboxState, type ShippedEvent } from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import { createRestoreRequestIn } from './restore-requests.ts';

// Employees' restore requests (issue 17). A person clicks "Ask for restore" in the popup; their agent records a
// `restore-requested` event; when that event is stored, the request lands here. An administrator approves it (the
// object is restored on that workstation through the console's own restore) or declines it with a reason; the answer
// is carried to the workstation with its polls (`restore-answer`) until the agent acknowledges it.

const SHA256 = /^[0-9a-f]{64}$/;
/** Answers older than this are no longer carried to a workstation that never came back. */
const ANSWER_DELIVERY_DAYS = 30;

/** Keeps `restore-requested` events newly stored: one open request per workstation and SHA-256 (a repeat is ignored). */
export async function recordRestoreAsks(db: Queryable, agentId: string, fresh: readonly ShippedEvent[]): Promise<number> {
  let added = 0;
  for (const { event: e } of fresh) {
    if (e.type !== 'restore-requested' || !e.sha256 || !SHA256.test(e.sha256)) continue;
    const at = Number.isNaN(Date.parse(e.time)) ? new Date().toISOString() : e.time;
    const rows = await db.query(
      `INSERT INTO restore_inbox (id, agent_id, sha256, quarantine_id, path, threat, level, asked_by, asked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (agent_id, sha256) WHERE state = 'open' DO NOTHING RETURNING id`,
      [
        randomUUID(),
        agentId,
        e.sha256,
        e.quarantineId?.slice(0, 128) ?? null,
        e.path?.slice(0, 4096) ?? null,
        e.threat?.slice(0, 512) ?? null,
        e.level?.slice(0, 32) ?? null,
        e.user?.slice(0, 256) ?? null,
        at,
      ],
    );
    added += rows.length;
  }
  return added;
}

export interface RestoreInboxRow {
  id: string;
  agentId: string;
  hostname: string | null;
  sha256: string;
  quarantineId: string | null;
  path: string | null;
  fileName: string | null;
  threat: string | null;
  askedBy: string | null;
  askedAt: string;
  state: RestoreInboxState;
  answeredBy: string | null;
  answeredAt: string | null;
  reason: string | null;
  restoreId: string | null;
  /** For an approved request: the workstation's report on the restore (pending until it reports). */
  restore: { state: string; items: Array<{ path: string; outcome: string; code?: string }> } | null;
  /** The workstation has acknowledged the answer. */
  delivered: boolean;
}

interface InboxDbRow {
  id: string;
  agent_id: string;
  hostname: string | null;
  sha256: string;
  quarantine_id: string | null;
  path: string | null;
  threat: string | null;
  asked_by: string | null;
  asked_at: string;
  state: RestoreInboxState;
  answered_by: string | null;
  answered_at: string | null;
  reason: string | null;
  restore_id: string | null;
  restore_state: string | null;
  restore_items: Array<{ path: string; outcome: string; code?: string }> | null;
  agent_received_at: string | null;
}

const fileName = (path: string | null): string | null => (path ? path.split(/[\\/]/).pop() || path : null);

function toRow(r: InboxDbRow): RestoreInboxRow {
  return {
    id: r.id,
    agentId: r.agent_id,
    hostname: r.hostname,
    sha256: r.sha256,
    quarantineId: r.quarantine_id,
    path: r.path,
    fileName: fileName(r.path),
    threat: r.threat,
    askedBy: r.asked_by,
    askedAt: r.asked_at,
    state: r.state,
    answeredBy: r.answered_by,
    answeredAt: r.answered_at,
    reason: r.reason,
    restoreId: r.restore_id,
    restore: r.restore_state === null ? null : { state: r.restore_state, items: r.restore_items ?? [] },
    delivered: r.agent_received_at !== null,
  };
}

const SELECT_ROWS = `SELECT i.*, a.hostname, s.state AS restore_state, s.items AS restore_items
  FROM restore_inbox i JOIN agents a ON a.id = i.agent_id
  LEFT JOIN restore_shares s ON s.request_id = i.restore_id AND s.agent_id = i.agent_id`;

/** One page of requests in one state: open ones oldest first (the next to answer on top), answered ones newest first. */
export async function listRestoreInbox(
  db: Queryable,
  q: RestoreInboxQuery,
): Promise<{ requests: RestoreInboxRow[]; total: number; counts: Record<RestoreInboxState, number> }> {
  const order = q.state === 'open' ? 'i.asked_at ASC, i.id' : 'i.answered_at DESC, i.id';
  const rows = await db.query<InboxDbRow>(`${SELECT_ROWS} WHERE i.state = $1 ORDER BY ${order} LIMIT $2 OFFSET $3`, [
    q.state,
    q.limit,
    q.offset,
  ]);
  const counted = await db.query<{ state: RestoreInboxState; n: number }>(
    'SELECT state, count(*)::int AS n FROM restore_inbox GROUP BY state',
  );
  const counts: Record<RestoreInboxState, number> = { open: 0, approved: 0, declined: 0 };
  for (const c of counted) counts[c.state] = Number(c.n);
  return { requests: rows.map(toRow), total: counts[q.state], counts };
}

export async function readRestoreInboxRequest(db: Queryable, id: string): Promise<RestoreInboxRow> {
  const r = (await db.query<InboxDbRow>(`${SELECT_ROWS} WHERE i.id = $1`, [id]))[0];
  if (!r) throw new SandgateError('CONSOLE_NOT_FOUND', `no restore request ${id}`);
  return toRow(r);
}

export type RestoreAnswer = { decision: 'approved'; allow?: boolean | undefined } | { decision: 'declined'; reason: string };

export interface AnsweredRequest {
  request: RestoreInboxRow;
  /** Workstations to wake: the one that asked (it gets the answer, and for an approval the restore). */
  wake: string[];
  /** An approval with `allow` changed this group's policy: its members are woken for it. */
  allowed?: { groupId: number; revision: number };
}

/**
 * Answers a request once. The state moves from `open` in one conditional UPDATE, so of two answers given at once
 * (two administrators, a double click) one wins and the other is CONSOLE_CONFLICT (`params.reason: already-answered`,
 * with the state it has). An approval creates the restore in the same transaction: a restore refused by the console
 * (the workstation was revoked, it has no group to allow in) leaves the request open.
 */
export async function answerRestoreRequest(db: Db, id: string, answer: RestoreAnswer, actor: string): Promise<AnsweredRequest> {
  const out = await db.transaction(async (tx) => {
    const rows = await tx.query<{ agent_id: string; sha256: string }>(
      `UPDATE restore_inbox SET state = $2, answered_by = $3, answered_at = now(), reason = $4, allow = $5
        WHERE id = $1 AND state = 'open' RETURNING agent_id, sha256`,
      [
        id,
        answer.decision,
        actor,
        answer.decision === 'declined' ? answer.reason : null,
        answer.decision === 'approved' && answer.allow === true,
      ],
    );
    const row = rows[0];
    if (!row) {
      const known = await tx.query<{ state: string }>('SELECT state FROM restore_inbox WHERE id = $1', [id]);
      if (!known.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no restore request ${id}`);
      throw new SandgateError('CONSOLE_CONFLICT', `restore request ${id} was already answered (${known[0]!.state})`, {
        params: { reason: 'already-answered', state: known[0]!.state },
      });
    }
    if (answer.decision === 'declined') return { wake: [row.agent_id] };
    const restore = await createRestoreRequestIn(
      tx,
      { sha256: row.sha256, agentId: row.agent_id, ...(answer.allow ? { allow: true } : {}) },
      actor,
    );
    await tx.query('UPDATE restore_inbox SET restore_id = $2 WHERE id = $1', [id, restore.id]);
    return { wake: [row.agent_id], ...(restore.allowed ? { allowed: restore.allowed } : {}) };
  });
  return { ...out, request: await readRestoreInboxRequest(db, id) };
}

/**
 * The answers a poll carries to the agent whose id is the SQL expression `agent` (FROM … WHERE), shared with the
 * poll's "anything for me?" check.
 */
export const deliverableAnswersFrom = (agent: string): string => `restore_inbox i
  WHERE i.agent_id = ${agent} AND i.state <> 'open' AND i.agent_received_at IS NULL
    AND i.answered_at > now() - make_interval(days => ${ANSWER_DELIVERY_DAYS})`;

/** The `restore-answer` messages for a workstation: every answer it has not acknowledged yet. */
export async function deliverableRestoreAnswers(db: Queryable, agentId: string): Promise<ConsoleTask[]> {
  const rows = await db.query<{
    id: string;
    sha256: string;
    quarantine_id: string | null;
    state: 'approved' | 'declined';
    reason: string | null;
    restore_id: string | null;
    answered_at: string;
  }>(
    `SELECT i.id, i.sha256, i.quarantine_id, i.state, i.reason, i.restore_id, i.answered_at FROM ${deliverableAnswersFrom('$1')} ORDER BY i.answered_at`,
    [agentId],
  );
  if (!rows.length) return [];
  await db.query(`UPDATE restore_inbox SET delivered_at = coalesce(delivered_at, now()) WHERE id = ANY($1::uuid[])`, [
    rows.map((r) => r.id),
  ]);
  return rows.map((r): ConsoleTask => ({
    type: 'restore-answer',
    id: r.id,
    sha256: r.sha256,
    ...(r.quarantine_id ? { quarantineId: r.quarantine_id } : {}),
    decision: r.state,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.restore_id ? { restoreId: r.restore_id } : {}),
    at: new Date(r.answered_at).toISOString(),
  }));
}

/**
 * A workstation acknowledges an answer it was given (a `restore-progress` report with the request's id). Only an
 * answered request of that workstation: a report about an open one changes nothing (false, and the caller refuses it
 * as it refuses any unknown restore), so a workstation cannot answer its own request.
 */
export async function acknowledgeRestoreAnswer(db: Queryable, agentId: string, id: string): Promise<boolean> {
  const rows = await db.query(
    `UPDATE restore_inbox SET agent_received_at = coalesce(agent_received_at, now())
      WHERE id = $1 AND agent_id = $2 AND state <> 'open' RETURNING id`,
    [id, agentId],
  );
  return rows.length > 0;
}
