import type { Queryable } from '../db/db.ts';

export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | undefined;
  outcome: AuditOutcome;
  details?: Record<string, unknown>;
}

/** Who did what and when. Written for every mutating admin call, refused ones included; never updated or deleted. */
export async function audit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5)', [
    e.actor,
    e.action,
    e.target ?? null,
    e.outcome,
    JSON.stringify(e.details ?? {}),
  ]);
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  /** The target as a person reads it: a workstation's host name, a group's name (null when there is none). */
  target_name: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
}

// Targets are stored as ids (a workstation is renamed, a group too; the log must not change): names are looked up
// when the log is read. Group targets are ids for every group action but `group.create`, which names the group; an
// employee's restore request (`restore-request.*`) reads as its file on its workstation.
const AUDIT_COLUMNS = `l.id, l.at, l.actor, l.action, l.target, l.outcome, l.details,
  CASE
    WHEN l.action LIKE 'agent.%' THEN (SELECT a.hostname FROM agents a WHERE a.id = l.target)
    WHEN l.action LIKE 'group.%' AND l.action <> 'group.create' AND l.target ~ '^[0-9]{1,15}$'
      THEN (SELECT g.name FROM groups g WHERE g.id = l.target::bigint)
    WHEN l.action LIKE 'restore-request.%'
      THEN (SELECT coalesce(substring(i.path from '[^/\\\\]+$'), i.sha256) || ' on ' || a.hostname
              FROM restore_inbox i JOIN agents a ON a.id = i.agent_id WHERE i.id::text = l.target)
  END AS target_name`;

/** The newest rows first, at most 1,000 per read; `before` (a row id) pages back to older ones. */
export async function readAudit(db: Queryable, limit = 200, before?: number): Promise<AuditRow[]> {
  const n = Math.min(Math.max(1, Math.floor(limit)), 1000);
  if (before === undefined) return db.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log l ORDER BY l.id DESC LIMIT $1`, [n]);
  return db.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log l WHERE l.id < $2 ORDER BY l.id DESC LIMIT $1`, [n, before]);
}
