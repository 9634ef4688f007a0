import { SandgateError } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';

export interface QueueRoomOptions {
  /** `sandbox.requestQueueMaxBytes`: the queued objects may never take more than this. */
  maxBytes: number;
  /** `sandbox.maxObjectBytes`: no single object may be larger (unset: only the queue size limits it). */
  maxObjectBytes?: number;
  events: EventLog;
}

/**
 * The one rule for room in a queue, shared by the disk and memory queues: an object over the policy's size or the
 * whole queue's is refused (OBJECT_OVER_MAX_SIZE, OBJECT_TOO_LARGE, an `object-refused` event each time); one that
 * does not fit now is refused with QUEUE_FULL, `queue-full` logged once per episode and `queue-recovered` when an
 * object leaves. Bytes are promised to copies in progress, so parallel accepts cannot overshoot the limit together.
 */
export class QueueRoom {
  readonly maxBytes: number;
  readonly maxObjectBytes: number | undefined;
  private readonly events: EventLog;
  private reserved = 0;
  private fullEpisode = false;

  constructor(opts: QueueRoomOptions) {
    this.maxBytes = opts.maxBytes;
    this.maxObjectBytes = opts.maxObjectBytes;
    this.events = opts.events;
  }

  /** Promises `size` bytes to an object about to be copied in, or throws; give them back with `release`. */
  reserve(path: string, size: number, usedBytes: number): number {
    if (this.maxObjectBytes !== undefined && size > this.maxObjectBytes) {
      this.events.append({
        type: 'object-refused',
        code: 'OBJECT_OVER_MAX_SIZE',
        path,
        message: `${size} bytes; sandbox.maxObjectBytes is ${this.maxObjectBytes}`,
      });
      throw new SandgateError(
        'OBJECT_OVER_MAX_SIZE',
        `The object (${size} bytes) is larger than the policy allows (sandbox.maxObjectBytes ${this.maxObjectBytes})`,
        { params: { path, size, limitBytes: this.maxObjectBytes } },
      );
    }
    if (size > this.maxBytes) {
      this.events.append({
        type: 'object-refused',
        code: 'OBJECT_TOO_LARGE',
        path,
        message: `${size} bytes; the queue holds at most ${this.maxBytes}`,
      });
      throw new SandgateError(
        'OBJECT_TOO_LARGE',
        `The object (${size} bytes) is larger than the request queue can hold (${this.maxBytes} bytes)`,
        {
          params: { path, size, limitBytes: this.maxBytes },
        },
      );
    }
    if (usedBytes + this.reserved + size > this.maxBytes) {
      if (!this.fullEpisode) {
        this.fullEpisode = true;
        this.events.append({ type: 'queue-full', code: 'QUEUE_FULL', path, message: `${usedBytes} of ${this.maxBytes} bytes in use` });
      }
      throw new SandgateError('QUEUE_FULL', `The request queue is full (${usedBytes} of ${this.maxBytes} bytes); try again later`, {
        params: { path, size, limitBytes: this.maxBytes },
      });
    }
    this.reserved += size;
    return size;
  }

  release(reserved: number): void {
    this.reserved -= reserved;
  }

  /** An object left the queue: a full episode ends. */
  freed(usedBytes: number): void {
    if (!this.fullEpisode) return;
    this.fullEpisode = false;
    this.events.append({ type: 'queue-recovered', message: `${usedBytes} of ${this.maxBytes} bytes in use` });
  }

  isFull(): boolean {
    return this.fullEpisode;
  }
}
