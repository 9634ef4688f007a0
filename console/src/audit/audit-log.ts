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
  outcome: AuditOutcome;
  details: Record<string, unknown>;
}

/** The newest rows first, at most 1,000 per read; `before` (a row id) pages back to older ones. */
export async function readAudit(db: Queryable, limit = 200, before?: number): Promise<AuditRow[]> {
  const n = Math.min(Math.max(1, Math.floor(limit)), 1000);
  if (before === undefined)
    return db.query<AuditRow>('SELECT id, at, actor, action, target, outcome, details FROM audit_log ORDER BY id DESC LIMIT $1', [n]);
  return db.query<AuditRow>(
    'SELECT id, at, actor, action, target, outcome, details FROM audit_log WHERE id < $2 ORDER BY id DESC LIMIT $1',
    [n, before],
  );
}
