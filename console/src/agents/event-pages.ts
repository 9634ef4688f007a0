import {
  eventSeverity,
  FAILURE_EVENT_TYPES,
  THREAT_EVENT_TYPES,
  VERDICT_EVENT_TYPES,
  type EventSeverity,
  type EventsQuery,
} from '@sandgate/shared';
import type { Queryable } from '../db/db.ts';

export interface EventRow {
  agent_id: string;
  /** The workstation's host name and its group's name (null: in no group): what a person reads instead of ids. */
  hostname: string;
  group_name: string | null;
  seq: number;
  at: string;
  type: string;
  event: Record<string, unknown>;
  severity: EventSeverity;
  /** Where the page after this event starts (`before`): arrival time to the microsecond, workstation, sequence. */
  cursor: string;
}

/**
 * A severity as a condition on an `agent_events` row `e`, the event types bound as parameters: the same lists as
 * `eventSeverity`, which labels the rows answered.
 */
function severitySql(severity: EventSeverity, bind: (v: unknown) => string): string {
  const threat = () =>
    `(e.type = ANY(${bind(THREAT_EVENT_TYPES)}::text[]) OR (e.type = ANY(${bind(VERDICT_EVENT_TYPES)}::text[]) AND e.event->>'level' = 'malicious'))`;
  const failure = () => `(e.type = ANY(${bind(FAILURE_EVENT_TYPES)}::text[]))`;
  if (severity === 'threat') return threat();
  if (severity === 'failure') return `(${failure()} AND NOT ${threat()})`;
  return `(NOT ${threat()} AND NOT ${failure()})`;
}

/**
 * One page of events, newest arrival first, filtered by the database (severity, workstation, type): a filter finds
 * matches however far back they are, not only among the latest rows. `before` continues after the last event of the
 * previous page (keyset paging: a page never repeats or skips a row when new events arrive meanwhile).
 */
export async function pageEvents(db: Queryable, q: Omit<EventsQuery, 'limit'> & { limit?: number }): Promise<EventRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const bind = (v: unknown) => `$${params.push(v)}`;
  if (q.severity) where.push(severitySql(q.severity, bind));
  if (q.agent) where.push(`e.agent_id = ${bind(q.agent)}`);
  if (q.type) where.push(`e.type = ${bind(q.type)}`);
  if (q.before) {
    const b = q.before;
    where.push(`(e.received_at, e.agent_id, e.seq) < (${bind(b.receivedAt)}::timestamptz, ${bind(b.agentId)}, ${bind(b.seq)}::bigint)`);
  }
  const limit = bind(Math.min(Math.max(1, Math.floor(q.limit ?? 100)), 1000));
  const rows = await db.query<Omit<EventRow, 'severity'>>(
    `SELECT e.agent_id, a.hostname, g.name AS group_name, e.seq, e.at, e.type, e.event,
            to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || e.agent_id || '|' || e.seq AS cursor
       FROM agent_events e JOIN agents a ON a.id = e.agent_id LEFT JOIN groups g ON g.id = a.group_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY e.received_at DESC, e.agent_id DESC, e.seq DESC LIMIT ${limit}`,
    params,
  );
  return rows.map((r) => ({ ...r, severity: eventSeverity(r.type, r.event['level']) }));
}
