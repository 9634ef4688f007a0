import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '@sandgate/shared';
import { EventLog } from '#native-host/events/event-log.ts';
import type { JobStore } from '#native-host/queue/job-store.ts';
import { MemoryObjectQueue } from '#native-host/queue/memory-object-queue.ts';
import type { ObjectQueue } from '#native-host/queue/object-queue.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';

// The same rules for both ObjectQueue implementations: tests of the queue's users may run on the memory one, so it
// must behave as the disk one the agent runs on, and hand out the same bytes it was given.

let root: string;
let events: EventLog;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-objq-')));
  mkdirSync(join(root, 'dl'));
  events = new EventLog(join(root, 'events'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Queue = ObjectQueue & JobStore;
interface Limits {
  maxBytes?: number;
  maxObjectBytes?: number;
}

const onDisk = (l: Limits): Promise<Queue> =>
  RequestQueue.open({ dir: join(root, 'queue'), journalFile: join(root, 'jobs.jsonl'), maxBytes: l.maxBytes ?? 1 << 20, events, ...l });
const inMemory = async (l: Limits): Promise<Queue> => new MemoryObjectQueue({ maxBytes: l.maxBytes ?? 1 << 20, events, ...l });

function download(name: string, content: string | Buffer): string {
  const p = join(root, 'dl', name);
  writeFileSync(p, content);
  return p;
}
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const cli = { source: 'cli' as const };
const types = () => events.read().events.map((e) => e.type);

async function drain(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe.each([
  ['on disk (RequestQueue)', onDisk],
  ['in memory (MemoryObjectQueue)', inMemory],
])('the object queue %s', (_name, make) => {
  it('hands out, under the SHA-256 it computed, exactly the bytes it was given, as often as they are read', async () => {
    const q = await make({});
    const content = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(300_000, 7)]);
    const job = await q.enqueue(download('a.exe', content), cli);
    expect(job).toMatchObject({ state: 'queued', sha256: sha(content), size: content.length });
    // The original may change afterwards: the queue answers with what it copied.
    writeFileSync(join(root, 'dl', 'a.exe'), 'something else');
    const lease = q.lease()!;
    expect(lease.sha256).toBe(sha(content));
    expect(lease.body.size).toBe(content.length);
    expect((await drain(lease.body.open())).equals(content)).toBe(true);
    expect((await drain(lease.body.open())).equals(content)).toBe(true);
  });

  it('keeps one object for the same bytes, with every job that asked for it, and drops it after the last commit', async () => {
    const q = await make({});
    const a = await q.enqueue(download('a.exe', 'same bytes'), cli);
    const b = await q.enqueue(download('copy of a.exe', 'same bytes'), cli);
    expect(a.jobId).not.toBe(b.jobId);
    expect(q.stats()).toEqual({ objects: 1, bytes: 10, limitBytes: 1 << 20 });
    const lease = q.lease()!;
    expect(lease.jobs.map((j) => j.jobId)).toEqual([a.jobId, b.jobId]);
    expect(q.lease()).toBeUndefined();
    await q.commit(a.jobId, {});
    expect(q.stats().objects).toBe(1); // b still needs it
    await q.commit(b.jobId, { verdict: { level: 'clean', server: 'https://127.0.0.1:1' } });
    expect(q.stats()).toMatchObject({ objects: 0, bytes: 0 });
    expect(q.get(b.jobId)).toMatchObject({ state: 'done', verdict: { level: 'clean' } });
  });

  it('leases the oldest object nobody is working on, and one rolled back again', async () => {
    const q = await make({});
    const jobs: Job[] = [];
    for (const n of ['a', 'b', 'c']) jobs.push(await q.enqueue(download(`${n}.exe`, `MZ ${n}`), cli));
    const first = q.lease()!;
    expect(first.sha256).toBe(jobs[0]!.sha256);
    expect(q.lease()!.sha256).toBe(jobs[1]!.sha256);
    q.rollback(first.sha256);
    expect(q.lease()!.sha256).toBe(jobs[0]!.sha256);
    expect(q.lease()!.sha256).toBe(jobs[2]!.sha256);
    expect(q.lease()).toBeUndefined();
  });

  it('commits with an outcome: an error makes an error job, and it is never leased again', async () => {
    const q = await make({});
    const job = await q.enqueue(download('a.exe', 'MZ a'), cli);
    const lease = q.lease()!;
    const failed = await q.commit(job.jobId, { error: { code: 'ANALYSIS_FAILED', message: 'no verdict', retryable: false } });
    expect(failed).toMatchObject({ state: 'error', error: { code: 'ANALYSIS_FAILED' } });
    q.rollback(lease.sha256);
    expect(q.lease()).toBeUndefined();
    await expect(q.commit(job.jobId, {})).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('logs a job’s first events once it is accepted', async () => {
    const q = await make({});
    const job = await q.enqueue(download('a.exe', 'MZ a'), cli, (j) => [
      { what: 'accepted', event: { type: 'object-accepted', path: j.path, sha256: j.sha256 } },
    ]);
    expect(events.read().events).toContainEqual(expect.objectContaining({ type: 'object-accepted', jobId: job.jobId }));
  });

  it('refuses what does not fit: QUEUE_FULL once per episode, full until an object leaves, then queue-recovered', async () => {
    const q = await make({ maxBytes: 2048 });
    const first = await q.enqueue(download('a.bin', Buffer.alloc(1500, 1)), cli);
    expect(q.isFull()).toBe(false);
    await expect(q.enqueue(download('b.bin', Buffer.alloc(1000, 2)), cli)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await expect(q.enqueue(download('c.bin', Buffer.alloc(1000, 3)), cli)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(q.isFull()).toBe(true);
    expect(types().filter((t) => t === 'queue-full')).toHaveLength(1);
    q.lease();
    await q.commit(first.jobId, {});
    expect(q.isFull()).toBe(false);
    expect(types().filter((t) => t === 'queue-recovered')).toHaveLength(1);
    await expect(q.enqueue(download('b.bin', Buffer.alloc(1000, 2)), cli)).resolves.toMatchObject({ size: 1000 });
  });

  it('refuses an object over the policy’s or the queue’s size, and a path that is not a plain file', async () => {
    const q = await make({ maxBytes: 1024, maxObjectBytes: 100 });
    await expect(q.enqueue(download('big.iso', Buffer.alloc(101)), cli)).rejects.toMatchObject({ code: 'OBJECT_OVER_MAX_SIZE' });
    const q2 = await make({ maxBytes: 1024 });
    await expect(q2.enqueue(download('huge.iso', Buffer.alloc(1025)), cli)).rejects.toMatchObject({ code: 'OBJECT_TOO_LARGE' });
    await expect(q2.enqueue(join(root, 'dl'), cli)).rejects.toMatchObject({ code: 'FILE_NOT_REGULAR' });
    await expect(q2.enqueue('dl/relative.exe', cli)).rejects.toMatchObject({ code: 'PATH_INVALID' });
    expect(q2.stats()).toMatchObject({ objects: 0, bytes: 0 });
  });
});

describe('the object queue on disk', () => {
  it('never hands out a queued copy whose length is not the length it hashed: the stream fails instead of ending', async () => {
    const q = await onDisk({});
    const job = await q.enqueue(download('a.exe', 'MZ payload'), cli);
    appendFileSync(join(root, 'queue', `${job.sha256}.obj`), 'planted');
    const body = q.lease()!.body;
    await expect(drain(body.open())).rejects.toThrow(/more than the 10 bytes/);
  });
});
