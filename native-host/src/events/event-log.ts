import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { agentEventSchema, type AgentEvent } from '@sandgate/shared';

export type NewAgentEvent = Omit<AgentEvent, 'time'>;

/**
 * The agent's event log: JSON lines, appended with one write each so a crash leaves at most one torn last line,
 * which `read` skips (and counts) instead of failing.
 */
export class EventLog {
  readonly file: string;
  private readonly listeners = new Set<(e: AgentEvent) => void>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, 'events.jsonl');
  }

  append(event: NewAgentEvent, now = new Date()): AgentEvent {
    const full = agentEventSchema.parse({ time: now.toISOString(), ...event });
    appendFileSync(this.file, JSON.stringify(full) + '\n', { mode: 0o600 });
    for (const l of this.listeners) l(full);
    return full;
  }

  /** Subscribe to events appended by this process. */
  subscribe(listener: (e: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  read(): { events: AgentEvent[]; unreadable: number } {
    if (!existsSync(this.file)) return { events: [], unreadable: 0 };
    const events: AgentEvent[] = [];
    let unreadable = 0;
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        unreadable++;
        continue;
      }
      const r = agentEventSchema.safeParse(parsed);
      if (r.success) events.push(r.data);
      else unreadable++;
    }
    return { events, unreadable };
  }
}
