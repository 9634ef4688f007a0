import type { Clock } from '../clock.ts';
import type { EventLog } from '../events/event-log.ts';
import type { Logger } from '../log.ts';
import type { QuarantineLimits } from './enforce-limits.ts';
import type { QuarantineObjectOptions } from './quarantine-object.ts';
import type { QuarantineStore } from './quarantine-store.ts';

/**
 * What quarantining something needs, whoever asks: a response action after a verdict, or an IOC scan task's match.
 * Both depend on this room; neither on the other.
 */
export interface QuarantineContext {
  home: string;
  events: EventLog;
  log: Logger;
  clock: Clock;
  /** The home's quarantine, opened once. */
  quarantineStore: QuarantineStore;
  /** How an object is put in quarantine (`quarantineStore.quarantine` with what the caller needs around it); injectable for tests. */
  quarantineObject: (opts: QuarantineObjectOptions) => Promise<{ id: string }>;
  /** The policy's quarantine storage limits, applied after each new item. */
  quarantineLimits?: QuarantineLimits;
}
