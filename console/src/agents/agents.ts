import { SandgateError, type AgentsQuery, type Heartbeat } from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

export interface AgentRow {
  id: string;
  hostname: string;
  group_id: number | null;
  group_name: string | null;
  enrolled_at: string;
  revoked_at: string | null;
  last_seen_at: string | null;
  heartbeat_ms: number | null;
  app_version: string | null;
  host: Record<string, unknown> | null;
  status: Record<string, unknown> | null;
  /** When the workstation's client certificate runs out (it renews itself before: cert-renewal.ts). */
  cert_not_after: string | Date;
  /** SHA-256 of the CA that issued the certificate (null: enrolled before CA rotation existed, by the CA then in service). */
  cert_ca_sha256: string | null;
  online: boolean;
}

/**
 * A workstation is online while its last heartbeat is younger than three of its own intervals. An SQL expression over
 * an `agents` row aliased `a`, for every query that shows or plans by online state.
 */
export const ONLINE_SQL = `(a.revoked_at IS NULL AND a.last_seen_at IS NOT NULL
  AND a.last_seen_at > now() - make_interval(secs => 3 * coalesce(a.heartbeat_ms, 30000) / 1000.0))`;

const AGENT_COLUMNS = `a.id, a.hostname, a.group_id, g.name AS group_name, a.enrolled_at, a.revoked_at, a.last_seen_at, a.heartbeat_ms,
            a.app_version, a.host, a.status, a.cert_not_after, a.cert_ca_sha256, ${ONLINE_SQL} AS online`;

/** The columns a page may be sorted by; the id breaks ties so pages never overlap. Never text from the request. */
const SORT_SQL: Record<AgentsQuery['sort'], string> = {
  hostname: 'lower(a.hostname)',
  last_seen: 'a.last_seen_at',
  version: 'a.app_version',
  group: 'lower(g.name)',
  cert_not_after: 'a.cert_not_after',
  enrolled: 'a.enrolled_at',
};

const STATE_SQL: Record<NonNullable<AgentsQuery['state']>, string> = {
  online: ONLINE_SQL,
  offline: `(a.revoked_at IS NULL AND NOT ${ONLINE_SQL})`,
  revoked: 'a.revoked_at IS NOT NULL',
};

export interface AgentPage {
  agents: AgentRow[];
  /** Workstations matching `q` and `state`. */
  total: number;
  /** The whole fleet by state. */
  counts: { all: number; online: number; offline: number; revoked: number };
}

/**
 * One page of workstations, filtered, sorted and counted by the database: the page asks for what it shows, so a
 * fleet of 20,000 costs one indexed scan and a page of rows, not 20,000 rows to the browser every few seconds.
 */
export async function pageAgents(db: Queryable, q: AgentsQuery): Promise<AgentPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.q) {
    params.push(`%${q.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    const p = `$${params.length}`;
    where.push(`(a.hostname ILIKE ${p} OR a.id ILIKE ${p} OR g.name ILIKE ${p} OR a.app_version ILIKE ${p})`);
  }
  if (q.state) where.push(STATE_SQL[q.state]);
  const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const dir = q.order === 'desc' ? 'DESC NULLS LAST' : 'ASC NULLS LAST';
  params.push(q.limit, q.offset);
  const agents = await db.query<AgentRow>(
    `SELECT ${AGENT_COLUMNS} FROM agents a LEFT JOIN groups g ON g.id = a.group_id ${whereSql}
      ORDER BY ${SORT_SQL[q.sort]} ${dir}, a.id LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  // The matching total and the fleet's counts in one pass over the table (the view asks every 5 s).
  const [c] = await db.query<{ matching: string | number; fleet: string | number; online: string | number; revoked: string | number }>(
    `SELECT count(*) FILTER (WHERE ${where.length ? where.join(' AND ') : 'true'}) AS matching, count(*) AS fleet,
            count(*) FILTER (WHERE ${ONLINE_SQL}) AS online, count(*) FILTER (WHERE a.revoked_at IS NOT NULL) AS revoked
       FROM agents a LEFT JOIN groups g ON g.id = a.group_id`,
    params.slice(0, -2),
  );
  const all = Number(c?.fleet ?? 0);
  const online = Number(c?.online ?? 0);
  const revoked = Number(c?.revoked ?? 0);
  return { agents, total: Number(c?.matching ?? 0), counts: { all, online, offline: all - online - revoked, revoked } };
}

export async function insertAgent(
  tx: Queryable,
  a: {
    id: string;
    hostname: string;
    certSerial: string;
    certSha256: string;
    certNotAfter: Date;
    certCaSha256: string;
    groupId: number | null;
    appVersion: string;
    host: unknown;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO agents (id, hostname, cert_serial, cert_sha256, cert_not_after, group_id, app_version, host, cert_ca_sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      a.id,
      a.hostname,
      a.certSerial,
      a.certSha256,
      a.certNotAfter.toISOString(),
      a.groupId,
      a.appVersion,
      JSON.stringify(a.host),
      a.certCaSha256,
    ],
  );
}

/**
 * Who is calling, from the verified client certificate: the agent must exist, its certificate must be the one we
 * issued (serial), and it must not be revoked. Runs on every agent request, so a revocation takes effect at once.
 */
export async function authenticateAgent(
  db: Queryable,
  agentId: string,
  certSerial: string,
): Promise<{ id: string; groupId: number | null }> {
  const [r] = await authenticateAgents(db, [{ agentId, certSerial }]);
  if (r instanceof Error) throw r;
  return r!;
}

/**
 * `authenticateAgent` for many callers in one statement (the agents' API gathers the calls that arrive together):
 * each gets its identity, or the coded error it would have got alone.
 */
export async function authenticateAgents(
  db: Queryable,
  callers: ReadonlyArray<{ agentId: string; certSerial: string }>,
): Promise<Array<{ id: string; groupId: number | null } | Error>> {
  const rows = await db.query<AgentIdentityRow>('SELECT id, group_id, revoked_at, cert_serial FROM agents WHERE id = ANY($1::text[])', [
    [...new Set(callers.map((c) => c.agentId))],
  ]);
  return checkCallers(rows, callers, (r) => ({ id: r.id, groupId: r.group_id }));
}

/**
 * Each caller checked against its agent's row (`checkAgentRow`), for statements that read many agents at once: what
 * `f` makes of the row, or the coded error that caller would have got alone.
 */
export function checkCallers<R extends AgentIdentityRow, T>(
  rows: readonly R[],
  callers: ReadonlyArray<{ agentId: string; certSerial: string }>,
  f: (row: R) => T,
): Array<T | Error> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return callers.map((c) => {
    try {
      return f(checkAgentRow(byId.get(c.agentId), c.agentId, c.certSerial));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  });
}

export interface AgentIdentityRow {
  id: string;
  group_id: number | null;
  revoked_at: string | null;
  cert_serial: string;
}

/** The checks of `authenticateAgent` on a row another query already read (the poll reads it with its other state). */
export function checkAgentRow<R extends AgentIdentityRow>(r: R | undefined, agentId: string, certSerial: string): R {
  if (!r || r.cert_serial !== certSerial.toLowerCase()) {
    throw new SandgateError('CONSOLE_CLIENT_CERT_REQUIRED', 'The client certificate does not belong to an enrolled agent');
  }
  if (r.revoked_at)
    throw new SandgateError('AGENT_REVOKED', `The console revoked agent ${agentId} at ${r.revoked_at}; enroll again with a new token`);
  return r;
}

export async function revokeAgent(db: Queryable, agentId: string): Promise<void> {
  const rows = await db.query('UPDATE agents SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id', [agentId]);
  if (!rows.length) throw new SandgateError('CONSOLE_NOT_FOUND', `no workstation with id ${agentId}`);
}

/**
 * Stores a heartbeat from the agent that holds certificate `certSerial`: one statement, which is also the
 * authentication (heartbeats are most of the agents' calls); only when it matches nothing is the reason looked up.
 */
export async function recordHeartbeat(db: Queryable, hb: Heartbeat, certSerial: string): Promise<void> {
  const status = {
    queue: hb.queue,
    servers: hb.servers,
    policyRevision: hb.policyRevision,
    eventBacklog: hb.eventBacklog,
    startedAt: hb.startedAt,
  };
  // A heartbeat with the current certificate also ends the retries of the renewal that made it (renew-agent.ts):
  // the replaced certificate can no longer ask again once the new one is in use.
  const rows = await db.query(
    `UPDATE agents SET last_seen_at = now(), heartbeat_ms = $2, app_version = $3, host = $4, hostname = $5, status = $6,
            previous_cert_serial = NULL, trust_cas = coalesce($8, trust_cas)
      WHERE id = $1 AND cert_serial = $7 AND revoked_at IS NULL RETURNING id`,
    [
      hb.agentId,
      hb.heartbeatMs,
      hb.appVersion,
      JSON.stringify(hb.host),
      hb.host.hostname,
      JSON.stringify(status),
      certSerial.toLowerCase(),
      hb.trustCas ? [...new Set(hb.trustCas)].sort().join(',') : null,
    ],
  );
  if (!rows.length) await authenticateAgent(db, hb.agentId, certSerial);
}

/** The policy document and revision for an agent's group (revision 0 and null: no group or no policy). */
export async function policyForAgent(
  db: Queryable,
  agentId: string,
): Promise<{ revision: number; group: string | null; policy: Record<string, unknown> | null }> {
  const rows = await db.query<{ name: string | null; policy: Record<string, unknown> | null; policy_revision: number | null }>(
    'SELECT g.name, g.policy, g.policy_revision FROM agents a LEFT JOIN groups g ON g.id = a.group_id WHERE a.id = $1',
    [agentId],
  );
  const r = rows[0];
  if (!r || r.name === null) return { revision: 0, group: null, policy: null };
  return { revision: r.policy_revision ?? 0, group: r.name, policy: r.policy };
}
