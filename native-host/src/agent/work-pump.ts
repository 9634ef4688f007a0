import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Lease, ObjectQueue } from '../queue/object-queue.ts';

const UNEXPECTED_FAILURE_PAUSE_MS = 5000;

/**
 * Keeps up to `concurrency` objects in work: leases the oldest waiting object, runs it, rolls the lease back when the
 * run ends (a finished object has no jobs left to lease; an unfinished one is leased again), and looks for more.
 */
export interface WorkPumpOptions {
  queue: ObjectQueue;
  concurrency: number;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  work(lease: Lease): Promise<void>;
}

export class WorkPump {
  private readonly o: WorkPumpOptions;
  private readonly active = new Map<string, Promise<void>>();
  private closed = false;

  constructor(o: WorkPumpOptions) {
    this.o = o;
  }

  /** Starts work on waiting objects while there is room. */
  pump(): void {
    while (!this.closed && this.active.size < this.o.concurrency) {
      const lease = this.o.queue.lease();
      if (!lease) return;
      const run = this.o
        .work(lease)
        .catch(async (err: unknown) => {
          this.o.log.error('job processing failed', { sha256: lease.sha256, error: err instanceof Error ? err.message : String(err) });
          // Keep the lease a while: handing it straight back would spin on a fault that persists (a full disk).
          await this.o.clock.sleep(UNEXPECTED_FAILURE_PAUSE_MS, this.o.signal).catch(() => {});
        })
        .finally(() => {
          this.active.delete(lease.sha256);
          this.o.queue.rollback(lease.sha256);
          this.pump();
        });
      this.active.set(lease.sha256, run);
    }
  }

  /** Takes no more work and waits for the running objects (stopped by the signal) to settle. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.active.values()]);
  }
}
