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

export async function readAudit(db: Queryable, limit = 200): Promise<AuditRow[]> {
  return db.query<AuditRow>('SELECT id, at, actor, action, target, outcome, details FROM audit_log ORDER BY id DESC LIMIT $1', [limit]);
}
