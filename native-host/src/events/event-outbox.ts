import { z } from 'zod';
import { agentEventSchema, type AgentEvent } from '@sandgate/shared';
import { crashPoint } from '../crash-point.ts';
import type { EventLog, NewAgentEvent } from './event-log.ts';

/** An event decided together with a durable state change, kept in that state's record until it is surely logged. */
export const outboxEventSchema = agentEventSchema.extend({ eventId: z.string().min(1).max(200) });
export type OutboxEvent = z.infer<typeof outboxEventSchema>;

/** A new outbox event: `<owner>/<what>` names it for good, so writing it twice is noticed. */
export function outboxEvent(owner: string, what: string, event: NewAgentEvent, now: Date): OutboxEvent {
  return { ...event, time: now.toISOString(), eventId: `${owner}/${what}` };
}

/**
 * Exactly-once events for records that change durably (queued jobs): the event is written into the record with the
 * change that causes it (one durable write), and only then appended to the log. A crash between the two leaves the
 * event in the record; at the next start `recover` looks for its id in the log (from where the record's events can
 * start) and appends only what is missing. An event is thus never lost and never written twice, wherever the process
 * is killed.
 */
export class EventOutbox {
  private readonly delivered = new Set<string>();
  private readonly log: EventLog;

  constructor(log: EventLog) {
    this.log = log;
  }

  /** Appends the events this process has not appended yet. Call only once they are durable in their record. */
  deliver(events: readonly OutboxEvent[]): void {
    for (const e of events) {
      if (this.delivered.has(e.eventId)) continue;
      crashPoint(`before-event:${e.type}`);
      this.log.write(e);
      this.delivered.add(e.eventId);
      crashPoint(`after-event:${e.type}`);
    }
  }

  /**
   * After a restart: `events` were recorded by earlier runs and may or may not have reached the log. The log is read
   * from `fromOffset` (where the oldest of their records started); those found are taken as delivered, the rest
   * appended with the time they were decided.
   */
  recover(events: readonly OutboxEvent[], fromOffset: number): number {
    if (!events.length) return 0;
    const present = this.log.idsSince(fromOffset);
    let written = 0;
    for (const e of events) {
      if (present.has(e.eventId)) this.delivered.add(e.eventId);
      else {
        this.deliver([e]);
        written++;
      }
    }
    return written;
  }

  /** Forgets ids of records that are gone, so the set does not grow with every job the service ever ran. */
  forget(events: readonly Pick<AgentEvent, 'eventId'>[]): void {
    for (const e of events) if (e.eventId) this.delivered.delete(e.eventId);
  }

  /** Makes what was delivered survive a power cut (the log is appended without fsync). */
  sync(): void {
    this.log.sync();
  }
}
