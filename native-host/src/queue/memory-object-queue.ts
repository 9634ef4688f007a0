import { createHash } from 'node:crypto';
import type { Job, Provenance } from '@sandgate/shared';
import { SandgateError } from '@sandgate/shared';
import { realClock, type Clock } from '../clock.ts';
import type { EventLog } from '../events/event-log.ts';
import { type ActionType, type JobChange, type JobEvent, type JobStore, newQueuedJob } from './job-store.ts';
import { MemoryJobStore } from './memory-job-store.ts';
import { bytesBody } from './object-body.ts';
import type { JobOutcome, Lease, ObjectQueue, QueueStats } from './object-queue.ts';
import { openSubmittedFile } from './open-submitted-file.ts';
import { QueueRoom } from './queue-room.ts';
import { SNIFF_BYTES } from './sniff-content.ts';

export interface MemoryObjectQueueOptions {
  maxBytes: number;
  maxObjectBytes?: number;
  events: EventLog;
  clock?: Clock;
}

/**
 * The ObjectQueue (and its JobStore) in memory, with the disk queue's rules (test/unit/native-host/queue/
 * object-queue.test.ts runs both through them): the submitted file opened with the same checks, its bytes read once
 * and hashed as they are kept, the same object queued once however many jobs ask for it, the oldest leased first,
 * the same room. Nothing survives the process: for tests of the queue's users, never for the agent.
 */
export class MemoryObjectQueue implements ObjectQueue, JobStore {
  private readonly store: MemoryJobStore;
  private readonly objects = new Map<string, Buffer>();
  private readonly leased = new Set<string>();
  private readonly room: QueueRoom;
  private readonly clock: Clock;

  constructor(opts: MemoryObjectQueueOptions) {
    this.clock = opts.clock ?? realClock;
    this.store = new MemoryJobStore(opts.events, this.clock);
    this.room = new QueueRoom(opts);
  }

  async enqueue(path: string, provenance: Provenance, events: (job: Job) => JobEvent[] = () => []): Promise<Job> {
    const { handle, size } = await openSubmittedFile(path);
    let reserved = 0;
    try {
      reserved = this.room.reserve(path, size, this.usedBytes());
      const bytes = Buffer.alloc(size);
      let read = 0;
      while (read < size) {
        const { bytesRead } = await handle.read(bytes, read, size - read, read);
        if (bytesRead === 0) throw new SandgateError('FILE_CHANGED', 'The file shrank while it was being read');
        read += bytesRead;
      }
      if ((await handle.read(Buffer.alloc(1), 0, 1, size)).bytesRead)
        throw new SandgateError('FILE_CHANGED', 'The file grew while it was being read');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const job = newQueuedJob(path, provenance, { sha256, size, head: bytes.subarray(0, SNIFF_BYTES) }, this.clock.now());
      if (!this.objects.has(sha256)) this.objects.set(sha256, bytes);
      this.store.add(job);
      const first = events(job);
      if (first.length) await this.store.update(job.jobId, { events: first });
      return job;
    } finally {
      this.room.release(reserved);
      await handle.close();
    }
  }

  lease(): Lease | undefined {
    let best: { sha: string; at: string } | undefined;
    for (const sha of this.objects.keys()) {
      const oldest = this.store.jobsFor(sha)[0];
      if (this.leased.has(sha) || !oldest) continue;
      if (!best || oldest.acceptedAt < best.at) best = { sha, at: oldest.acceptedAt };
    }
    if (!best) return undefined;
    this.leased.add(best.sha);
    return { sha256: best.sha, body: bytesBody(this.objects.get(best.sha)!), jobs: this.store.jobsFor(best.sha) };
  }

  async commit(jobId: string, outcome: JobOutcome): Promise<Job> {
    const finished = this.store.finish(jobId, outcome);
    if (!this.store.jobsFor(finished.sha256).length) {
      this.objects.delete(finished.sha256);
      this.room.freed(this.usedBytes());
    }
    return finished;
  }

  rollback(sha256: string): void {
    this.leased.delete(sha256);
  }

  stats(): QueueStats {
    return { objects: this.objects.size, bytes: this.usedBytes(), limitBytes: this.room.maxBytes };
  }

  isFull(): boolean {
    return this.room.isFull();
  }

  get(jobId: string): Job | undefined {
    return this.store.get(jobId);
  }

  list(limit: number): Job[] {
    return this.store.list(limit);
  }

  jobsFor(sha256: string): Job[] {
    return this.store.jobsFor(sha256);
  }

  actionsStarted(jobId: string): readonly ActionType[] {
    return this.store.actionsStarted(jobId);
  }

  update(jobId: string, change: JobChange): Promise<Job> {
    return this.store.update(jobId, change);
  }

  relocate(jobId: string, fromPath: string, newPath: string): Promise<boolean> {
    return this.store.relocate(jobId, fromPath, newPath);
  }

  private usedBytes(): number {
    let n = 0;
    for (const b of this.objects.values()) n += b.length;
    return n;
  }
}
