import type { Queryable } from '../db/db.ts';

/**
 * Every workstation that reported an object malicious, once per object: what the "N distinct workstations" witness
 * counts. Recorded for every malicious verdict, whether or not the workstation's group has group actions, since a
 * report anywhere is evidence for a task anywhere.
 */
export async function recordThreatReport(db: Queryable, sha256: string, agentId: string): Promise<void> {
  await db.query('INSERT INTO threat_reports (sha256, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sha256, agentId]);
}

/** Distinct workstations, not revoked, that reported `sha256` malicious: a revoked one's word no longer counts. */
export async function countReporters(db: Queryable, sha256: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM threat_reports r JOIN agents a ON a.id = r.agent_id WHERE r.sha256 = $1 AND a.revoked_at IS NULL',
    [sha256],
  );
  return rows[0]?.n ?? 0;
}
