import { EVENT_SEQ_SKIP_BYTES, SandgateError, type ShippedEvent } from '@sandgate/shared';

/** The largest event (its line, plus the IOC shipped with it) the console stores: the agent's reader reads 1 MiB. */
export const MAX_EVENT_BYTES = 1024 * 1024 + 256 * 1024;

export interface PlannedBatch {
  /** Events past the cursor, in order: to be stored. */
  fresh: ShippedEvent[];
  /** Events before the cursor: a batch sent again after a lost answer. Already stored; nothing is written. */
  duplicates: number;
  /** The cursor after the batch: just past the last line stored. */
  cursor: number;
}

/** The length of an event's line in the agent's log, as far as the console can tell: the line the agent writes. */
export function lineBytes(e: ShippedEvent): number {
  return Buffer.byteLength(JSON.stringify(e.event));
}

/**
 * Checks a batch against the agent's cursor (the byte offset just past the last line the console stored) before
 * anything is written. Sequence numbers are byte offsets of lines in an append-only log: each event's line ends
 * where the next may begin, and the only room between them is lines the agent skipped (a torn line left by a crash,
 * a line from a newer version). So the events past the cursor must follow each other, and together may skip at most
 * EVENT_SEQ_SKIP_BYTES: an agent cannot push its sequence ahead (to 1,000,000, say) and so claim, or hide, the offsets
 * its real events will have. Refusals change nothing: CONSOLE_EVENT_SEQ_INVALID (not increasing) and
 * CONSOLE_EVENT_SEQ_AHEAD (too far past the cursor; `params.expected` is the cursor to send from).
 */
export function planBatch(cursor: number, events: readonly ShippedEvent[]): PlannedBatch {
  const fresh: ShippedEvent[] = [];
  let duplicates = 0;
  let prev = -1;
  let end = cursor;
  let skipped = 0;
  for (const e of events) {
    if (e.seq <= prev)
      throw new SandgateError('CONSOLE_EVENT_SEQ_INVALID', `event sequence numbers must increase; ${e.seq} follows ${prev}`, {
        params: { seq: e.seq, previous: prev },
      });
    prev = e.seq;
    const bytes = lineBytes(e);
    const size = bytes + (e.ioc ? Buffer.byteLength(e.ioc.xml) : 0);
    if (size > MAX_EVENT_BYTES)
      throw new SandgateError(
        'CONSOLE_EVENT_TOO_LARGE',
        `the event at ${e.seq} is ${size} bytes; the console stores events up to ${MAX_EVENT_BYTES}`,
        { params: { seq: e.seq, bytes: size, max: MAX_EVENT_BYTES } },
      );
    if (e.seq < cursor) {
      duplicates++;
      continue;
    }
    // A line the console reads as shorter than the agent wrote it (fields of a newer agent) counts as skipped, never
    // as overlap: the console's estimate of a line's length is a lower bound.
    skipped += Math.max(0, e.seq - end);
    if (skipped > EVENT_SEQ_SKIP_BYTES) {
      throw new SandgateError(
        'CONSOLE_EVENT_SEQ_AHEAD',
        `the event at ${e.seq} is ${skipped} bytes past what the console stored (up to ${cursor}); at most ${EVENT_SEQ_SKIP_BYTES} may be skipped: send from ${cursor}`,
        { params: { expected: cursor, seq: e.seq, maxSkipBytes: EVENT_SEQ_SKIP_BYTES } },
      );
    }
    end = Math.max(end, e.seq + bytes + 1);
    fresh.push(e);
  }
  return { fresh, duplicates, cursor: end };
}
