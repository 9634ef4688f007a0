import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { AGENT_API, MAX_EVENTS_PER_BATCH, SandgateError, eventBatchResponseSchema, type ShippedEvent } from '@sandgate/shared';
import type { Logger } from '../log.ts';
import type { ChannelState } from './channel-state.ts';
import { readState, writeState } from './console-files.ts';
import type { ConsoleSession } from './console-session.ts';
import { readEventsFrom } from './event-reader.ts';
import { iocForVerdict } from './verdict-ioc.ts';

/** How long a malicious verdict waits for its job to be readable (to generate its IOC) before it is shipped without one. */
const IOC_WAIT_MS = 30_000;

export interface EventDeliveryOptions {
  session: ConsoleSession;
  home: string;
  agentId: string;
  /** The event log file to deliver (`$SANDGATE_HOME/events/events.jsonl`). */
  eventLogFile: string;
  /** Where the delivered offset is remembered across restarts. */
  cursorFile: string;
  state: ChannelState;
  /** Re-reads the event log this often even when the file watcher says nothing. */
  eventScanMs: number;
  log: Logger;
}

/**
 * Delivery of the event log from a persisted cursor, so events written while the console was out of reach arrive
 * later, once: one loop, woken by the file watcher, a timer and every successful heartbeat (`kick`). The cursor moves
 * only past what the console has stored.
 */
export class EventDelivery {
  private readonly o: EventDeliveryOptions;
  private cursor: number;
  private wake: (() => void) | undefined;
  private pending = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly scan: NodeJS.Timeout;
  private watcher: FSWatcher | undefined;
  /** When each malicious verdict (by seq) was first met without an IOC available. */
  private readonly iocWaitSince = new Map<number, number>();

  constructor(o: EventDeliveryOptions) {
    this.o = o;
    this.cursor = readState(o.cursorFile, o.agentId).offset;
    try {
      const name = basename(o.eventLogFile);
      this.watcher = watch(dirname(o.eventLogFile), { persistent: false }, (_e, f) => {
        if (!f || f === name) this.kick();
      });
      this.watcher.on('error', () => {});
    } catch (err) {
      o.log.warn('cannot watch the event log; relying on the timer', { error: (err as Error).message });
    }
    this.scan = setInterval(() => this.kick(), o.eventScanMs);
    this.scan.unref();
  }

  /** There may be something to deliver: look now. */
  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  async run(): Promise<void> {
    const { session } = this.o;
    const b = session.backoff();
    while (!session.stopped) {
      if (!this.pending) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          session.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.wake = undefined;
        continue;
      }
      this.pending = false;
      try {
        await this.deliverAll();
        b.ok();
      } catch (err) {
        this.pending = true;
        const wait = await this.refusal(err);
        if (wait === 'again') continue;
        if (wait !== undefined) await session.sleep(wait);
        else await b.fail('event delivery', err);
      }
    }
  }

  close(): void {
    clearInterval(this.scan);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.watcher?.close();
  }

  private async deliverAll(): Promise<void> {
    const { o } = this;
    for (;;) {
      const before = this.cursor;
      const slice = readEventsFrom(o.eventLogFile, this.cursor, MAX_EVENTS_PER_BATCH);
      o.state.backlogBytes = slice.remainingBytes + (slice.nextOffset - this.cursor);
      const { events, waitAt } = await this.withIocs(slice.events);
      if (waitAt !== undefined) {
        // Ship what comes before the verdict; the verdict goes once its IOC can be made (or the wait ran out).
        slice.nextOffset = waitAt;
        this.retrySoon();
      }
      if (events.length) {
        const r = await o.session.call('POST', AGENT_API.events, { events }, eventBatchResponseSchema);
        o.log.debug('events delivered', { accepted: r.accepted, duplicates: r.duplicates });
      }
      // Only after the console has stored them: a crash before this line re-sends, which the console ignores.
      if (slice.nextOffset !== this.cursor) {
        this.cursor = slice.nextOffset;
        await writeState(o.cursorFile, o.agentId, { offset: this.cursor });
      }
      o.state.backlogBytes = slice.remainingBytes;
      // Stop when caught up, when only a line still being written is left, or when a verdict waits for its IOC.
      if (slice.remainingBytes === 0 || slice.nextOffset === before || waitAt !== undefined) return;
    }
  }

  /**
   * The console's refusals of a batch that the agent answers itself; the cursor never moves past what was stored, so
   * nothing is lost. Rate limited: wait as told. Ahead of the console's cursor (its database was reset, say): send
   * again from the cursor it names. Anything else: the usual back-off.
   */
  private async refusal(err: unknown): Promise<number | 'again' | undefined> {
    const { log } = this.o;
    if (!(err instanceof SandgateError)) return undefined;
    if (err.code === 'CONSOLE_AGENT_RATE_LIMITED') {
      const s = typeof err.params?.retryAfterSeconds === 'number' ? err.params.retryAfterSeconds : 60;
      log.info('the console asks this agent to send its events more slowly; they are kept and sent later', { retryAfterSeconds: s });
      return s * 1000 * (1 + Math.random() / 4);
    }
    const expected = err.params?.expected;
    if (
      err.code === 'CONSOLE_EVENT_SEQ_AHEAD' &&
      typeof expected === 'number' &&
      Number.isSafeInteger(expected) &&
      expected >= 0 &&
      expected < this.cursor
    ) {
      log.warn('the console has stored less of the event log than this agent thought; sending again from its cursor', {
        from: this.cursor,
        to: expected,
      });
      this.cursor = expected;
      await writeState(this.o.cursorFile, this.o.agentId, { offset: this.cursor });
      return 'again';
    }
    if (err.code === 'CONSOLE_EVENT_SEQ_AHEAD')
      log.error(
        'the console refuses the event log from here: more than it accepts in a row is unreadable; see the console troubleshooting',
        { cursor: this.cursor, error: err.message },
      );
    return undefined;
  }

  /**
   * A malicious verdict carries the OpenIOC of its object (group actions on the console). The event is written a
   * moment before its job is readable: the batch then stops before it (`waitAt`, its seq) and is tried again shortly.
   */
  private async withIocs(events: ShippedEvent[]): Promise<{ events: ShippedEvent[]; waitAt?: number }> {
    const out: ShippedEvent[] = [];
    for (const e of events) {
      if (e.event.type !== 'verdict' || e.event.level !== 'malicious') {
        out.push(e);
        continue;
      }
      const facts = await iocForVerdict(this.o.home, e.event).catch((err: unknown) => {
        this.o.log.warn('the IOC of a verdict could not be generated', {
          jobId: e.event.jobId,
          error: err instanceof Error ? err.message : String(err),
        });
        return undefined;
      });
      if (facts) {
        this.iocWaitSince.delete(e.seq);
        out.push({ ...e, ...facts });
        continue;
      }
      const since = this.iocWaitSince.get(e.seq) ?? Date.now();
      this.iocWaitSince.set(e.seq, since);
      if (Date.now() - since < IOC_WAIT_MS) return { events: out, waitAt: e.seq };
      this.o.log.warn('a malicious verdict is shipped without its IOC: its job could not be read', { jobId: e.event.jobId });
      this.iocWaitSince.delete(e.seq);
      out.push(e);
    }
    return { events: out };
  }

  private retrySoon(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, 500);
    this.retryTimer.unref();
  }
}
