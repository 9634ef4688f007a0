import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { agentEventSchema, type ShippedEvent } from '@sandgate/shared';

export interface EventSlice {
  events: ShippedEvent[];
  /** Where the next read starts: just past the last complete line looked at (shipped or skipped). */
  nextOffset: number;
  /** Complete lines that were not events (torn by a crash, or from a newer agent); skipped, never sent. */
  skipped: number;
  /** Bytes of complete lines after nextOffset not read yet (the rest of the backlog). */
  remainingBytes: number;
}

const NEWLINE = 0x0a;

/**
 * Reads events from the append-only JSON-lines log starting at a byte offset. Each event's sequence number is the
 * offset of its line, which never changes once written: the console stores each once whatever is re-sent. A last
 * line without its newline is still being written (or torn) and is left for the next read.
 */
export function readEventsFrom(file: string, offset: number, maxEvents: number, maxBytes = 1024 * 1024): EventSlice {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], nextOffset: offset, skipped: 0, remainingBytes: 0 };
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    // A log shorter than the cursor was replaced; the cursor cannot mean anything in it, so start it over.
    const start = size < offset ? 0 : offset;
    const length = Math.min(maxBytes, size - start);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    const events: ShippedEvent[] = [];
    let skipped = 0;
    let pos = 0;
    while (events.length < maxEvents) {
      const nl = buf.indexOf(NEWLINE, pos);
      if (nl < 0 || nl >= got) break;
      const line = buf.subarray(pos, nl).toString('utf8');
      const seq = start + pos;
      pos = nl + 1;
      if (!line.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      const r = agentEventSchema.safeParse(parsed);
      if (r.success) events.push({ seq, event: r.data });
      else skipped++;
    }
    const nextOffset = start + pos;
    return { events, nextOffset, skipped, remainingBytes: Math.max(0, size - nextOffset) };
  } finally {
    closeSync(fd);
  }
}
