import { SandgateError } from '@sandgate/shared';

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
 * its cursor and sends it again). In memory, like the login throttle: one console process is right; several would
 * each allow their own share. A bucket can hold a whole batch, so an honest agent with a backlog is slowed, never
 * stuck.
 */
export class EventRateLimit {
  private readonly limits: EventLimits;
  private readonly now: () => number;
  private readonly state = new Map<string, State>();
  private readonly onRefused: ((agentId: string, message: string) => void) | undefined;

  /** `onRefused` hears of a workstation's refusals at most once a minute: a flood must not flood the log as well. */
  constructor(limits: EventLimits, o: { now?: () => number; onRefused?: (agentId: string, message: string) => void } = {}) {
    this.limits = limits;
    this.now = o.now ?? Date.now;
    this.onRefused = o.onRefused;
  }

  /** Takes the batch's tokens, or throws CONSOLE_AGENT_RATE_LIMITED and takes nothing. */
  take(agentId: string, events: number, bytes: number): void {
    const { events: ev, eventBytes: by } = this.limits;
    const t = this.now();
    const s = this.state.get(agentId) ?? { events: ev.burst, bytes: by.burst, at: t };
    const minutes = Math.max(0, t - s.at) / 60_000;
    const have = {
      events: Math.min(ev.burst, s.events + minutes * ev.perMinute),
      bytes: Math.min(by.burst, s.bytes + minutes * by.perMinute),
    };
    if (have.events < events || have.bytes < bytes) {
      const wait = Math.max(
        have.events < events ? ((Math.min(events, ev.burst) - have.events) / ev.perMinute) * 60 : 0,
        have.bytes < bytes ? ((Math.min(bytes, by.burst) - have.bytes) / by.perMinute) * 60 : 0,
      );
      const report = s.reportedAt === undefined || t - s.reportedAt >= 60_000;
      this.remember(agentId, {
        ...have,
        at: t,
        ...(report ? { reportedAt: t } : s.reportedAt !== undefined ? { reportedAt: s.reportedAt } : {}),
      });
      const retryAfterSeconds = Math.max(1, Math.ceil(wait));
      const err = new SandgateError(
        'CONSOLE_AGENT_RATE_LIMITED',
        `this workstation sent more events than the console accepts (${ev.perMinute} events and ${by.perMinute} bytes a minute, bursts of ${ev.burst} and ${by.burst}); send them again in ${retryAfterSeconds} s`,
        { params: { retryAfterSeconds, events, bytes } },
      );
      if (report) this.onRefused?.(agentId, err.message);
      throw err;
    }
    this.remember(agentId, {
      events: have.events - events,
      bytes: have.bytes - bytes,
      at: t,
      ...(s.reportedAt !== undefined ? { reportedAt: s.reportedAt } : {}),
    });
  }

  private remember(agentId: string, s: State): void {
    this.state.delete(agentId);
    this.state.set(agentId, s);
    if (this.state.size > MAX_AGENTS) this.state.delete(this.state.keys().next().value!);
  }
}
