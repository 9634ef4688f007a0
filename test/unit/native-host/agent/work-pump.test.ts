import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '@sandgate/shared';
import { WorkPump } from '#native-host/agent/work-pump.ts';
import { realClock } from '#native-host/clock.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { silentLogger } from '#native-host/log.ts';
import { MemoryObjectQueue } from '#native-host/queue/memory-object-queue.ts';
import type { Lease } from '#native-host/queue/object-queue.ts';

// The pump on the memory queue: the queue's rules are the disk queue's (object-queue.test.ts), so no folder is needed.

let root: string;
let queue: MemoryObjectQueue;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-pump-')));
  mkdirSync(join(root, 'dl'));
  queue = new MemoryObjectQueue({ maxBytes: 1 << 20, events: new EventLog(join(root, 'events')) });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function submit(name: string): Promise<Job> {
  writeFileSync(join(root, 'dl', name), `MZ ${name}`);
  return queue.enqueue(join(root, 'dl', name), { source: 'cli' });
}
const settle = () => new Promise((r) => setImmediate(r));

describe('the work pump', () => {
  it('works on at most `concurrency` objects, oldest first, and takes the next when one is finished', async () => {
    const [a, b, c] = [await submit('a.exe'), await submit('b.exe'), await submit('c.exe')];
    const running = new Map<string, () => Promise<void>>();
    const started: string[] = [];
    const pump = new WorkPump({
      queue,
      concurrency: 2,
      clock: realClock,
      log: silentLogger,
      signal: new AbortController().signal,
      work: (lease: Lease) =>
        new Promise<void>((done) => {
          started.push(lease.sha256);
          running.set(lease.sha256, async () => {
            for (const j of lease.jobs) await queue.commit(j.jobId, {});
            done();
          });
        }),
    });
    pump.pump();
    expect(started).toEqual([a.sha256, b.sha256]);
    await running.get(a.sha256)!();
    await settle();
    expect(started).toEqual([a.sha256, b.sha256, c.sha256]);
    await running.get(b.sha256)!();
    await running.get(c.sha256)!();
    await pump.close();
    expect(queue.stats().objects).toBe(0);
  });

  it('gives an object back when its run ends unfinished, and works on it again', async () => {
    const a = await submit('a.exe');
    const runs: number[] = [];
    const pump = new WorkPump({
      queue,
      concurrency: 1,
      clock: realClock,
      log: silentLogger,
      signal: new AbortController().signal,
      work: async (lease) => {
        runs.push(lease.jobs.length);
        // The first run ends without a verdict (a shutdown, a server gone); the second finishes the job.
        if (runs.length === 2) for (const j of lease.jobs) await queue.commit(j.jobId, {});
      },
    });
    pump.pump();
    for (let i = 0; i < 10 && queue.get(a.jobId)?.state !== 'done'; i++) await settle();
    await pump.close();
    expect(runs).toEqual([1, 1]);
    expect(queue.get(a.jobId)?.state).toBe('done');
  });
});
