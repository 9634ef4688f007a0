import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
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
    return this.write({ time: now.toISOString(), ...event });
  }

  /** Appends an event that already has its time (one decided earlier and kept in a job's outbox). */
  write(event: AgentEvent): AgentEvent {
    const full = agentEventSchema.parse(event);
    const fd = openSync(this.file, 'a+', 0o600);
    try {
      // A line torn by a power cut would swallow this event into it: start on a line of our own.
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
      appendFileSync(fd, (torn ? '\n' : '') + JSON.stringify(full) + '\n');
    } finally {
      closeSync(fd);
    }
    for (const l of this.listeners) l(full);
    return full;
  }

  /** Subscribe to events appended by this process. */
  subscribe(listener: (e: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The log's length in bytes: every event appended from now on starts at or after it. */
  size(): number {
    try {
      return statSync(this.file).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  /** Flushes the log to disk; before a record that vouches for its events is removed, they must survive a power cut. */
  sync(): void {
    if (!existsSync(this.file)) return;
    const fd = openSync(this.file, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The `eventId`s of the events from byte `offset` on (from the start when the log is shorter than that: it was
   * replaced). Lines that do not parse are skipped, as `read` does.
   */
  idsSince(offset: number): Set<string> {
    const ids = new Set<string>();
    if (!existsSync(this.file)) return ids;
    const fd = openSync(this.file, 'r');
    let text: string;
    try {
      const size = fstatSync(fd).size;
      const start = offset > size ? 0 : offset;
      const buf = Buffer.alloc(size - start);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      text = buf.subarray(0, got).toString('utf8');
    } finally {
      closeSync(fd);
    }
    for (const line of text.split('\n')) {
      // Only lines that can carry an id are parsed: most events have none.
      if (!line.includes('"eventId"')) continue;
      try {
        const r = agentEventSchema.safeParse(JSON.parse(line));
        if (r.success && r.data.eventId) ids.add(r.data.eventId);
      } catch {
        // a torn line: not an event
      }
    }
    return ids;
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
