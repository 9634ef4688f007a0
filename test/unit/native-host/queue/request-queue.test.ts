import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '#native-host/events/event-log.ts';
import { RequestQueue, type RequestQueueOptions } from '#native-host/queue/request-queue.ts';
import type { ChunkWriter } from '#native-host/queue/copy-and-hash.ts';

let root: string;
let downloads: string;
let queueDir: string;
let events: EventLog;

beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-queue-')));
  downloads = join(root, 'Downloads');
  queueDir = join(root, 'home', 'queue');
  mkdirSync(downloads, { recursive: true });
  events = new EventLog(join(root, 'home', 'events'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function open(extra: Partial<RequestQueueOptions> = {}) {
  return RequestQueue.open({
    dir: queueDir,
    journalFile: join(root, 'home', 'jobs', 'finished.jsonl'),
    maxBytes: 1024 * 1024,
    events,
    ...extra,
  });
}

function download(name: string, content: string | Buffer): string {
  const p = join(downloads, name);
  writeFileSync(p, content);
  return p;
}

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const types = () => events.read().events.map((e) => e.type);
const cli = { source: 'cli' as const };

describe('request queue', () => {
  it('copies the object into the queue and names it by the hash of the bytes it copied', async () => {
    const q = await open();
    const job = await q.enqueue(download('a.exe', 'MZ payload'), cli);
    expect(job).toMatchObject({ state: 'queued', sha256: sha('MZ payload'), size: 10 });
    expect(readFileSync(join(queueDir, `${job.sha256}.obj`), 'utf8')).toBe('MZ payload');
    expect(q.stats()).toEqual({ objects: 1, bytes: 10, limitBytes: 1024 * 1024 });
  });

  it('after a crash, every accepted and uncommitted job is there again, leased or not', async () => {
    const q1 = await open();
    const a = await q1.enqueue(download('a.exe', 'aaa'), cli);
    const b = await q1.enqueue(download('b.exe', 'bbb'), cli);
    expect(q1.lease()?.sha256).toBe(a.sha256); // leased, never committed: the process "dies" here
    writeFileSync(join(queueDir, '.tmp-deadbeef'), 'half a copy');

    const q2 = await open();
    const ids = [q2.lease(), q2.lease()].map((l) => l?.jobs[0]?.jobId).sort();
    expect(ids).toEqual([a.jobId, b.jobId].sort());
    expect(q2.lease()).toBeUndefined();
    expect(existsSync(join(queueDir, '.tmp-deadbeef'))).toBe(false);
  });

  it('a crash between copying the object and recording the job leaves no entry', async () => {
    const q1 = await open();
    await q1.enqueue(download('a.exe', 'aaa'), cli);
    writeFileSync(join(queueDir, `${sha('orphan')}.obj`), 'orphan');
    const q2 = await open();
    expect(q2.stats().objects).toBe(1);
    expect(existsSync(join(queueDir, `${sha('orphan')}.obj`))).toBe(false);
  });

  it('sets an unreadable record aside with an event instead of failing to start', async () => {
    const q1 = await open();
    await q1.enqueue(download('a.exe', 'aaa'), cli);
    writeFileSync(join(queueDir, 'j_broken.job.json'), '{"format":1,"job":');
    const q2 = await open();
    expect(q2.list(10)).toHaveLength(1);
    expect(existsSync(join(queueDir, 'corrupt', 'j_broken.job.json'))).toBe(true);
    expect(types()).toContain('queue-entry-corrupt');
  });

  it('commits finish a job for good: it is not leased again and stays listed after a restart', async () => {
    const q1 = await open();
    const job = await q1.enqueue(download('a.exe', 'aaa'), cli);
    const lease = q1.lease()!;
    await q1.commit(job.jobId, { verdict: { level: 'clean', server: 'https://127.0.0.1:1' }, actions: [] });
    expect(existsSync(join(queueDir, `${lease.sha256}.obj`))).toBe(false);
    const q2 = await open();
    expect(q2.lease()).toBeUndefined();
    expect(q2.get(job.jobId)).toMatchObject({ state: 'done', verdict: { level: 'clean' } });
    expect(q2.list(10).map((j) => j.jobId)).toEqual([job.jobId]);
  });

  it('a released lease is handed out again', async () => {
    const q = await open();
    await q.enqueue(download('a.exe', 'aaa'), cli);
    const l = q.lease()!;
    expect(q.lease()).toBeUndefined();
    q.rollback(l.sha256);
    expect(q.lease()?.sha256).toBe(l.sha256);
  });

  it('the same object submitted twice is one queued object with two jobs', async () => {
    const q = await open();
    const a = await q.enqueue(download('a.exe', 'same bytes'), cli);
    const b = await q.enqueue(download('copy of a.exe', 'same bytes'), cli);
    expect(a.jobId).not.toBe(b.jobId);
    expect(q.stats().objects).toBe(1);
    const lease = q.lease()!;
    expect(lease.jobs.map((j) => j.jobId)).toEqual([a.jobId, b.jobId]);
    expect(q.lease()).toBeUndefined();
    await q.commit(a.jobId, {});
    expect(existsSync(join(queueDir, `${lease.sha256}.obj`))).toBe(true); // b still needs it
    await q.commit(b.jobId, {});
    expect(existsSync(join(queueDir, `${lease.sha256}.obj`))).toBe(false);
  });

  it('refuses an object that does not fit with QUEUE_FULL, records queue-full once, and queue-recovered when room returns', async () => {
    const q = await open({ maxBytes: 2048 });
    const first = await q.enqueue(download('a.bin', Buffer.alloc(1500, 1)), cli);
    await expect(q.enqueue(download('b.bin', Buffer.alloc(1000, 2)), cli)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await expect(q.enqueue(download('c.bin', Buffer.alloc(1000, 3)), cli)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(types().filter((t) => t === 'queue-full')).toHaveLength(1);
    q.lease();
    await q.commit(first.jobId, {});
    expect(types().filter((t) => t === 'queue-recovered')).toHaveLength(1);
    await expect(q.enqueue(download('b.bin', Buffer.alloc(1000, 2)), cli)).resolves.toMatchObject({ size: 1000 });
  });

  it('refuses an object larger than the whole queue with OBJECT_TOO_LARGE and an object-refused event', async () => {
    const q = await open({ maxBytes: 1024 });
    await expect(q.enqueue(download('big.iso', Buffer.alloc(1025)), cli)).rejects.toMatchObject({ code: 'OBJECT_TOO_LARGE' });
    expect(events.read().events).toContainEqual(expect.objectContaining({ type: 'object-refused', code: 'OBJECT_TOO_LARGE' }));
    expect(q.stats().objects).toBe(0);
  });

  it('refuses an object over sandbox.maxObjectBytes with OBJECT_OVER_MAX_SIZE before copying a byte; the queue limit keeps OBJECT_TOO_LARGE', async () => {
    let writes = 0;
    const counting: ChunkWriter = async (dest, chunk) => {
      writes++;
      await dest.write(chunk);
    };
    const q = await open({ maxBytes: 4096, maxObjectBytes: 2048, writeChunk: counting });
    await expect(q.enqueue(download('big.exe', Buffer.alloc(2049)), cli)).rejects.toMatchObject({
      code: 'OBJECT_OVER_MAX_SIZE',
      params: { size: 2049, limitBytes: 2048 },
    });
    expect(writes).toBe(0);
    expect(readdirSync(queueDir)).toEqual([]);
    expect(events.read().events).toEqual([expect.objectContaining({ type: 'object-refused', code: 'OBJECT_OVER_MAX_SIZE' })]);
    await expect(q.enqueue(download('ok.exe', Buffer.alloc(2048)), cli)).resolves.toMatchObject({ size: 2048 });

    const roomy = await RequestQueue.open({
      dir: join(root, 'other'),
      journalFile: join(root, 'other-jobs.jsonl'),
      maxBytes: 1024,
      maxObjectBytes: 1 << 20,
      events,
    });
    await expect(roomy.enqueue(download('mid.exe', Buffer.alloc(1025)), cli)).rejects.toMatchObject({ code: 'OBJECT_TOO_LARGE' });
  });

  it('sets aside a corrupt record and one whose object is gone, and replays the good ones beside them', async () => {
    const q1 = await open();
    const a = await q1.enqueue(download('a.exe', 'aaa'), cli);
    const b = await q1.enqueue(download('b.exe', 'bbb'), cli);
    const c = await q1.enqueue(download('c.exe', 'ccc'), cli);
    writeFileSync(join(queueDir, `${a.jobId}.job.json`), '{"format":1,"job":{"jobId":');
    rmSync(join(queueDir, `${c.sha256}.obj`));
    const q2 = await open();
    expect(q2.list(10).map((j) => j.jobId)).toEqual([b.jobId]);
    expect(q2.lease()?.jobs.map((j) => j.jobId)).toEqual([b.jobId]);
    expect(readdirSync(join(queueDir, 'corrupt')).sort()).toEqual([`${a.jobId}.job.json`, `${c.jobId}.job.json`].sort());
    expect(events.read().events.filter((e) => e.type === 'queue-entry-corrupt')).toHaveLength(2);
    // The object of the unreadable record has no job left and is removed, not kept for ever.
    expect(existsSync(join(queueDir, `${a.sha256}.obj`))).toBe(false);
  });

  it('a copy that fails midway (disk full) leaves nothing behind', async () => {
    let calls = 0;
    const diskFull: ChunkWriter = async (dest, chunk) => {
      if (++calls === 2) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      await dest.write(chunk);
    };
    const q = await open({ writeChunk: diskFull, maxBytes: 8 * 1024 * 1024 });
    await expect(q.enqueue(download('big.bin', Buffer.alloc(3 * 1024 * 1024, 7)), cli)).rejects.toMatchObject({ code: 'QUEUE_IO' });
    expect(readdirSync(queueDir)).toEqual([]);
    expect(q.stats()).toMatchObject({ objects: 0, bytes: 0 });
    expect(q.lease()).toBeUndefined();
  });

  it('keeps progress recorded on an unfinished job across a restart', async () => {
    const q1 = await open();
    const job = await q1.enqueue(download('a.exe', 'aaa'), cli);
    await q1.update(job.jobId, {
      job: { state: 'analysing', verdict: { level: 'malicious', server: 'https://127.0.0.1:1' } },
      actionStarted: 'quarantine',
    });
    const q2 = await open();
    expect(q2.get(job.jobId)).toMatchObject({ verdict: { level: 'malicious' } });
    expect(q2.actionsStarted(job.jobId)).toEqual(['quarantine']);
  });

  it('accepts made at once are committed in groups: each answered once, a failing one alone refused, all there after a restart', async () => {
    const failing: ChunkWriter = async (dest, chunk) => {
      if (chunk.subarray(0, 3).toString() === 'BAD') throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      await dest.write(chunk);
    };
    const q1 = await open({ writeChunk: failing });
    const names = Array.from({ length: 24 }, (_, i) => `f${i}.exe`);
    const results = await Promise.allSettled(names.map((n, i) => q1.enqueue(download(n, i === 7 ? 'BAD copy' : `MZ ${n}`), cli)));
    expect(results.map((r) => r.status)).toEqual(names.map((_, i) => (i === 7 ? 'rejected' : 'fulfilled')));
    expect(results[7]).toMatchObject({ reason: { code: 'QUEUE_IO' } });
    const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.jobId] : []));
    expect(new Set(accepted).size).toBe(23);
    expect(readdirSync(queueDir).filter((f) => f.startsWith('.tmp-'))).toEqual([]);

    const q2 = await open();
    expect(
      q2
        .list(100)
        .map((j) => j.jobId)
        .sort(),
    ).toEqual([...accepted].sort());
    expect(q2.stats().objects).toBe(23);
  });
});
