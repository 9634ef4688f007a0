import type { ShippedEvent } from '@sandgate/shared';
import type { Db, Queryable } from '../db/db.ts';
import { planBatch } from './event-cursor.ts';

export interface StoredBatch {
  accepted: number;
  duplicates: number;
  storedThrough: number;
  cursor: number;
  /** The events stored now (a batch sent again stores nothing twice). */
  fresh: ShippedEvent[];
}

/**
 * Stores a batch past the agent's cursor, in one transaction with the cursor's row locked: two batches of one agent
 * (a re-send racing the original) are judged one after the other against the cursor the other left. Each (agent, seq)
 * is still stored once (`ON CONFLICT DO NOTHING`), and the cursor only moves past lines actually stored.
 * `withFresh` runs in the same transaction on the events stored now: what it records from them (an employee's restore
 * request) is kept exactly when the events are, never lost between two transactions.
 */
export async function storeEvents(
  db: Db,
  agentId: string,
  events: readonly ShippedEvent[],
  withFresh?: (tx: Queryable, fresh: readonly ShippedEvent[]) => Promise<unknown>,
): Promise<StoredBatch> {
  return db.transaction(async (tx) => {
    const row = await tx.query<{ event_cursor: number }>('SELECT event_cursor FROM agents WHERE id = $1 FOR UPDATE', [agentId]);
    const plan = planBatch(row[0]?.event_cursor ?? 0, events);
    const fresh: ShippedEvent[] = [];
    for (const e of plan.fresh) {
      const rows = await tx.query(
        `INSERT INTO agent_events (agent_id, seq, at, type, event) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (agent_id, seq) DO NOTHING RETURNING seq`,
        [agentId, e.seq, e.event.time, e.event.type, JSON.stringify(e.event)],
      );
      if (rows.length) fresh.push(e);
    }
    await tx.query('UPDATE agents SET last_seen_at = now(), event_cursor = $2 WHERE id = $1', [agentId, plan.cursor]);
    if (withFresh && fresh.length) await withFresh(tx, fresh);
    const storedThrough = Math.max(...events.map((e) => e.seq));
    return { accepted: fresh.length, duplicates: events.length - fresh.length, storedThrough, cursor: plan.cursor, fresh };
  });
}
