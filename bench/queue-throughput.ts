/**
 * How fast the request queue accepts objects (open, copy while hashing, fsync, rename, write the job record durably),
 * beside plain copies of the same files measured in the same run: `fs.copyFile` into a temp folder (no durability at
 * all; the kernel may even share extents) and, the fairer baseline, `copyFile` plus `fsync` of each copy.
 *
 *   npx node bench/queue-throughput.ts [--small 2000] [--small-kib 4] [--large 4] [--large-mib 256] [--parallel 8]
 *
 * Small objects give objects per second (per-object cost: the copy's and the record's fsyncs side by side, then the
 * folder's fsync, shared by every accept waiting at that moment: group commit), large ones MB/s (the copy and the
 * SHA-256). Each variant gets a fresh destination; sources stay in the page cache for all of them alike. Nothing is
 * submitted to any server. Two ratios per row, rates against the same run's `copyFile + fsync`: one at a time (the
 * baseline of issue 15), and at the row's own concurrency (the stricter one: the kernel batches concurrent fsyncs for
 * the baseline too). "n at once" is n callers each enqueueing its next file when the last was answered, as the agent
 * sees a browser finishing several downloads together; each is answered only once its job is durable.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '#native-host/events/event-log.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';
import { writeRandomFile } from './lib/random-file.ts';
import { table, writeResult } from './lib/report.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SMALL = arg('small', 2000);
const SMALL_BYTES = arg('small-kib', 4) * 1024;
const LARGE = arg('large', 4);
const LARGE_BYTES = arg('large-mib', 256) * 1024 * 1024;
const PARALLEL = arg('parallel', 8);
const MB = 1e6;

interface Row {
  set: string;
  variant: string;
  /** copyFile + fsync baselines, and the queue: how many callers at once. */
  kind: 'copy' | 'copy+fsync' | 'queue';
  parallel: number;
  objects: number;
  bytes: number;
  seconds: number;
}

const root = mkdtempSync(join(tmpdir(), 'sg-bench-queue-'));
let fresh = 0;
const newDir = (): string => {
  const d = join(root, `dest-${++fresh}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};

async function timed(files: string[], each: (file: string, i: number) => Promise<void>, parallel = 1): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < files.length; i = next++) await each(files[i]!, i);
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function copyAndSync(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  await fsyncFile(to);
}

async function variants(set: string, files: string[], size: number): Promise<Row[]> {
  const rows: Row[] = [];
  const row = (variant: string, kind: Row['kind'], parallel: number, seconds: number) =>
    rows.push({ set, variant, kind, parallel, objects: files.length, bytes: files.length * size, seconds });

  let dest = newDir();
  row('fs.copyFile (baseline)', 'copy', 1, await timed(files, (f, i) => copyFile(f, join(dest, String(i)))));
  rmSync(dest, { recursive: true });

  for (const parallel of [1, PARALLEL]) {
    dest = newDir();
    const label = parallel === 1 ? 'fs.copyFile + fsync, one at a time (baseline)' : `fs.copyFile + fsync, ${parallel} at once (baseline)`;
    row(label, 'copy+fsync', parallel, await timed(files, (f, i) => copyAndSync(f, join(dest, String(i))), parallel));
    rmSync(dest, { recursive: true });
  }

  for (const parallel of [1, PARALLEL]) {
    dest = newDir();
    const queue = await RequestQueue.open({
      dir: join(dest, 'queue'),
      journalFile: join(dest, 'jobs', 'finished.jsonl'),
      maxBytes: 1024 ** 4,
      events: new EventLog(join(dest, 'events')),
    });
    const label = parallel === 1 ? 'RequestQueue.enqueue, one at a time' : `RequestQueue.enqueue, ${parallel} at once`;
    row(label, 'queue', parallel, await timed(files, async (f) => void (await queue.enqueue(f, { source: 'cli' })), parallel));
    rmSync(dest, { recursive: true });
  }
  return rows;
}

try {
  const smallDir = join(root, 'small');
  const largeDir = join(root, 'large');
  mkdirSync(smallDir);
  mkdirSync(largeDir);
  // Distinct content per file, so the queue's de-duplication by SHA-256 never shortcuts a copy.
  const small = Array.from({ length: SMALL }, (_, i) => {
    const p = join(smallDir, `obj-${i}.bin`);
    writeFileSync(p, randomBytes(SMALL_BYTES));
    return p;
  });
  const large: string[] = [];
  for (let i = 0; i < LARGE; i++) {
    const p = join(largeDir, `big-${i}.bin`);
    await writeRandomFile(p, LARGE_BYTES);
    large.push(p);
  }

  // Sources written back to disk first: otherwise whichever variant runs first pays for their dirty pages.
  for (const f of [...small, ...large]) await fsyncFile(f);

  const rows = [
    ...(await variants(`${SMALL} × ${SMALL_BYTES / 1024} KiB`, small, SMALL_BYTES)),
    ...(await variants(`${LARGE} × ${LARGE_BYTES / 1024 / 1024} MiB`, large, LARGE_BYTES)),
  ];
  const rate = (r: Row) => r.objects / r.seconds;
  const baseline = (r: Row, parallel: number) => rows.find((b) => b.set === r.set && b.kind === 'copy+fsync' && b.parallel === parallel);
  const ratio = (r: Row, parallel: number) => {
    const b = baseline(r, parallel);
    return b ? rate(r) / rate(b) : undefined;
  };
  const withRatios = rows.map((r) => ({
    ...r,
    vsOneAtATime: ratio(r, 1),
    vsSameConcurrency: r.kind === 'copy' ? undefined : ratio(r, r.parallel),
  }));
  process.stdout.write(
    table(
      ['run', 'seconds', 'objects/s', 'MB/s', '× copyFile+fsync 1 at a time', '× copyFile+fsync same concurrency'],
      withRatios.map((r) => [
        `${r.set}: ${r.variant}`,
        r.seconds.toFixed(2),
        rate(r).toFixed(0),
        (r.bytes / MB / r.seconds).toFixed(0),
        r.vsOneAtATime?.toFixed(2) ?? '',
        r.vsSameConcurrency?.toFixed(2) ?? '',
      ]),
    ) + '\n',
  );
  const file = writeResult('queue-throughput', {
    unit: { time: 's', throughput: 'MB/s (1e6 bytes)', ratios: 'objects/s over the copyFile + fsync baseline of the same set' },
    results: withRatios,
  });
  process.stdout.write(`(${file})\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
