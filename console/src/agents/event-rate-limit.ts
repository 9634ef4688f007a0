import { SandgateError } from '@sandgate/shared';
import type { Db } from '../db/db.ts';

export interface Bucket {
  perMinute: number;
  burst: number;
}

export interface EventLimits {
  events: Bucket;
  eventBytes: Bucket;
}

interface State {
  events: number;
  bytes: number;
  at: number;
  /** When a refusal of this workstation was last reported (at most one a minute is). */
  reportedAt?: number;
}

/** Workstations whose buckets are remembered; beyond it the longest-remembered is forgotten (it starts full again). */
const MAX_AGENTS = 100_000;

/**
 * Per-workstation token buckets for `POST /agent/v1/events`: a batch takes one token per event and one per byte, or
 * is refused whole with CONSOLE_AGENT_RATE_LIMITED and `retryAfterSeconds` (nothing of it is stored; the agent keeps
 * its cursor and sends it again). With a PostgreSQL server (`shared`), the buckets live in the database, counted by its
 * clock, so a workstation sending to several console processes has one bucket, not one per process; with PGlite (one
 * process) they stay in memory. A bucket can hold a whole batch, so an honest agent with a backlog is slowed, never
 * stuck.
 */
export class EventRateLimit {
  private readonly limits: EventLimits;
  private readonly now: () => number;
  private readonly state = new Map<string, State>();
  private readonly onRefused: ((agentId: string, message: string) => void) | undefined;
  private readonly shared: Db | undefined;

  /** `onRefused` hears of a workstation's refusals at most once a minute: a flood must not flood the log as well. */
  constructor(
    limits: EventLimits,
    o: { now?: () => number; onRefused?: (agentId: string, message: string) => void; shared?: Db | undefined } = {},
  ) {
    this.limits = limits;
    this.now = o.now ?? Date.now;
    this.onRefused = o.onRefused;
    this.shared = o.shared;
  }

  /** Takes the batch's tokens, or rejects with CONSOLE_AGENT_RATE_LIMITED and takes nothing. */
  async take(agentId: string, events: number, bytes: number): Promise<void> {
    const outcome = this.shared ? await this.takeShared(this.shared, agentId, events, bytes) : this.takeHere(agentId, events, bytes);
    if (!outcome.refusal) return;
    if (outcome.report) this.onRefused?.(agentId, outcome.refusal.message);
    throw outcome.refusal;
  }

  /** From the workstation's row in the database, by the database's clock. */
  private takeShared(db: Db, agentId: string, events: number, bytes: number): Promise<Outcome> {
    return db.transaction(async (tx) => {
      // The row is locked for the decision: two processes taking from one bucket at once take one after the other.
      await tx.query(
        'INSERT INTO event_buckets (agent_id, events, bytes, at_ms) VALUES ($1, $2, $3, 0) ON CONFLICT (agent_id) DO NOTHING',
        [agentId, this.limits.events.burst, this.limits.eventBytes.burst],
      );
      const [row] = await tx.query<{ events: number; bytes: number; at_ms: number; reported_ms: number | null; now_ms: number }>(
        'SELECT events, bytes, at_ms, reported_ms, extract(epoch FROM clock_timestamp()) * 1000 AS now_ms FROM event_buckets WHERE agent_id = $1 FOR UPDATE',
        [agentId],
      );
      const now = Number(row!.now_ms);
      const s: State = {
        events: Number(row!.events),
        bytes: Number(row!.bytes),
        // A new row (at 0) is a full bucket whatever the time.
        at: Number(row!.at_ms) || now,
        ...(row!.reported_ms === null ? {} : { reportedAt: Number(row!.reported_ms) }),
      };
      const o = decide(this.limits, s, now, events, bytes);
      await tx.query('UPDATE event_buckets SET events = $2, bytes = $3, at_ms = $4, reported_ms = $5 WHERE agent_id = $1', [
        agentId,
        o.next.events,
        o.next.bytes,
        o.next.at,
        o.next.reportedAt ?? null,
      ]);
      return o;
    });
  }

  private takeHere(agentId: string, events: number, bytes: number): Outcome {
    const t = this.now();
    const o = decide(this.limits, this.state.get(agentId), t, events, bytes);
    this.state.delete(agentId);
    this.state.set(agentId, o.next);
    if (this.state.size > MAX_AGENTS) this.state.delete(this.state.keys().next().value!);
    return o;
  }
}

interface Outcome {
  next: State;
  refusal?: SandgateError;
  /** The refusal is to be told to the log (the first in a minute). */
  report: boolean;
}

/** One take from a bucket as it was at `s.at` (undefined: full), at time `t` (ms). */
function decide(limits: EventLimits, s0: State | undefined, t: number, events: number, bytes: number): Outcome {
  const { events: ev, eventBytes: by } = limits;
  const s = s0 ?? { events: ev.burst, bytes: by.burst, at: t };
  const minutes = Math.max(0, t - s.at) / 60_000;
  const have = {
    events: Math.min(ev.burst, s.events + minutes * ev.perMinute),
    bytes: Math.min(by.burst, s.bytes + minutes * by.perMinute),
  };
  const reportedAt = s.reportedAt !== undefined ? { reportedAt: s.reportedAt } : {};
  if (have.events >= events && have.bytes >= bytes) {
    return { next: { events: have.events - events, bytes: have.bytes - bytes, at: t, ...reportedAt }, report: false };
  }
  const wait = Math.max(
    have.events < events ? ((Math.min(events, ev.burst) - have.events) / ev.perMinute) * 60 : 0,
    have.bytes < bytes ? ((Math.min(bytes, by.burst) - have.bytes) / by.perMinute) * 60 : 0,
  );
  const report = s.reportedAt === undefined || t - s.reportedAt >= 60_000;
  const retryAfterSeconds = Math.max(1, Math.ceil(wait));
  const refusal = new SandgateError(
    'CONSOLE_AGENT_RATE_LIMITED',
    `this workstation sent more events than the console accepts (${ev.perMinute} events and ${by.perMinute} bytes a minute, bursts of ${ev.burst} and ${by.burst}); send them again in ${retryAfterSeconds} s`,
    { params: { retryAfterSeconds, events, bytes } },
  );
  return { next: { ...have, at: t, ...(report ? { reportedAt: t } : reportedAt) }, refusal, report };
}
