import type { Logger } from '../log.ts';

/** What the person at the keyboard should know about the agent as a whole (the `agent-status` push). */
export interface AgentSituation {
  serversReachable: boolean;
  queueFull: boolean;
}

/** Pushes the situation to its listeners when it changes, and only then; re-read wherever it may have changed. */
export class SituationWatch {
  private readonly listeners = new Set<(s: AgentSituation) => void>();
  private readonly read: () => AgentSituation;
  private readonly log: Logger;
  private last: AgentSituation | undefined;

  constructor(read: () => AgentSituation, log: Logger) {
    this.read = read;
    this.log = log;
  }

  notice(): void {
    const now = this.read();
    if (this.last && now.serversReachable === this.last.serversReachable && now.queueFull === this.last.queueFull) return;
    this.last = now;
    for (const l of this.listeners) callSafely(l, now, this.log);
  }

  /** Called with the current situation at once, then whenever it changes; returns the unsubscribe function. */
  subscribe(cb: (s: AgentSituation) => void): () => void {
    this.notice();
    this.listeners.add(cb);
    cb(this.last ?? this.read());
    return () => this.listeners.delete(cb);
  }

  clear(): void {
    this.listeners.clear();
  }
}

/** A listener that throws is logged and does not stop the others. */
export function callSafely<T>(listener: (v: T) => void, v: T, log: Logger): void {
  try {
    listener(v);
  } catch (err) {
    log.warn('listener threw', { error: String(err) });
  }
}
