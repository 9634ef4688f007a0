import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashPool, hashThreadsFor } from '#native-host/scan/hash-pool.ts';
import { HashThreads } from '#native-host/scan/hash-threads.ts';
import { scanPaths } from '#native-host/scan/scan-paths.ts';
import { ScanSession } from '#native-host/scan/scan-session.ts';
import { HashSetIndicators } from './hash-set-indicators.ts';

let root: string;
let outside: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-threads-')));
  outside = realpathSync(mkdtempSync(join(tmpdir(), 'sg-threads-outside-')));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const digest = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');
const asRoot = process.getuid?.() === 0;

/** Contents the indicators name, the same in every run (the trees are planted afresh). */
const small = Buffer.from('small planted object');
const big = randomBytes(2 * 1024 * 1024 + 3); // past the synchronous size and the 1 MiB read buffer
const lure = Buffer.from('what a planted link points at');

/**
 * A tree with objects to find (by SHA-256, MD5 and SHA-1, small and large, several per folder), 300 harmless files,
 * a link from the start, and five files that the scan will see change between the listing and the read.
 */
function plant(dir: string): void {
  for (let d = 0; d < 6; d++) {
    mkdirSync(join(dir, `d${d}`));
    for (let f = 0; f < 50; f++) writeFileSync(join(dir, `d${d}`, `f${f}.dat`), `harmless ${d}/${f} ${'x'.repeat((d * 50 + f) % 700)}`);
  }
  writeFileSync(join(dir, 'd1', 'planted.exe'), small);
  writeFileSync(join(dir, 'd4', 'planted-copy.exe'), small);
  writeFileSync(join(dir, 'd2', 'large.bin'), big);
  writeFileSync(join(dir, 'd5', 'md5.bin'), 'found by md5');
  writeFileSync(join(outside, 'lure.exe'), lure);
  symlinkSync(join(outside, 'lure.exe'), join(dir, 'd0', 'link-from-the-start.exe'));
  for (const name of ['vanishes', 'renamed-over', 'becomes-link', 'becomes-fifo', 'unreadable']) writeFileSync(join(dir, 'd3', name), lure);
}

/** What happens to a file after the walk listed it and before it is read: what an attacker (or a busy disk) does. */
function meddle(path: string): void {
  const name = path.split('/').pop();
  if (name === 'vanishes') rmSync(path);
  if (name === 'renamed-over') {
    writeFileSync(`${path}.new`, lure);
    renameSync(`${path}.new`, path); // same content, another inode
  }
  if (name === 'becomes-link') {
    rmSync(path);
    symlinkSync(join(outside, 'lure.exe'), path); // would match if followed
  }
  if (name === 'becomes-fifo') {
    rmSync(path);
    spawnSync('mkfifo', [path]);
  }
  if (name === 'unreadable') chmodSync(path, 0o000);
}

async function scan(dir: string, threads: number, minCores = 0, now?: () => number) {
  const set = new HashSetIndicators([
    { id: 'small', hash: 'sha256', value: digest('sha256', small) },
    { id: 'large', hash: 'sha1', value: digest('sha1', big) },
    { id: 'md5', hash: 'md5', value: digest('md5', 'found by md5') },
    { id: 'lure', hash: 'sha256', value: digest('sha256', lure) },
  ]);
  const session = new ScanSession({
    indicators: [{ set, source: 'ioc' }],
    maxFileBytes: 1 << 30,
    hashThreads: threads,
    hashThreadsAfter: 0,
    hashThreadsMinCores: minCores,
    ...(now ? { now } : {}),
  });
  const check = session.checkFile.bind(session);
  session.checkFile = async (f) => {
    meddle(f.path);
    return check(f);
  };
  try {
    await scanPaths(session, [dir]);
    await session.drain();
  } finally {
    await session.close();
  }
  const { elapsedMs: _e, throttledMs: _t, ...counters } = session.counters;
  return { counters, matches: session.matches, errors: session.errors, threads: session.hashThreadsUsed() };
}

describe('hashing on threads', () => {
  it('finds the same objects, counts the same, and refuses the same meddled files as the scan on one thread', async () => {
    mkdirSync(join(root, 'one'));
    mkdirSync(join(root, 'two'));
    plant(join(root, 'one'));
    const single = await scan(join(root, 'one'), 0);
    rmSync(join(outside, 'lure.exe'));
    plant(join(root, 'two'));
    const threaded = await scan(join(root, 'two'), 2);

    expect(single.threads).toEqual({ started: 0, stopped: 0 });
    // The threads really read (no thread failed and left the work to this one).
    expect(threaded.threads).toEqual({ started: 2, stopped: 0 });
    const rel = (r: typeof single, from: string) => JSON.parse(JSON.stringify(r).split(join(root, from)).join('ROOT'));
    expect(rel(threaded, 'two').matches).toEqual(rel(single, 'one').matches);
    expect(rel(threaded, 'two').errors).toEqual(rel(single, 'one').errors);
    expect(threaded.counters).toEqual(single.counters);

    const found = rel(single, 'one').matches.map((m: { path: string; iocId: string }) => `${m.iocId} ${m.path}`);
    // In walk order; the lure is never reached through a link, planted from the start or swapped in after the listing.
    // A file renamed over with the same bytes is a new inode: refused as replaced, never read in its place.
    expect(found).toEqual([
      'small ROOT/d1/planted.exe',
      'large ROOT/d2/large.bin',
      ...(asRoot ? ['lure ROOT/d3/unreadable'] : []),
      'small ROOT/d4/planted-copy.exe',
      'md5 ROOT/d5/md5.bin',
    ]);
    const errors = rel(single, 'one').errors.map((e: { path: string; code: string }) => `${e.code} ${e.path}`);
    expect(errors).toEqual([
      'ECHANGED ROOT/d3/becomes-fifo',
      'ELOOP ROOT/d3/becomes-link',
      'ECHANGED ROOT/d3/renamed-over',
      ...(asRoot ? [] : ['EACCES ROOT/d3/unreadable']),
      'ENOENT ROOT/d3/vanishes',
    ]);
    expect(single.counters).toMatchObject({ linksSkipped: 1, errors: asRoot ? 4 : 5 });
  });

  it('stops the threads mid-scan when the process gets too little CPU for them, with the same result', async () => {
    mkdirSync(join(root, 'one'));
    mkdirSync(join(root, 'two'));
    plant(join(root, 'one'));
    const single = await scan(join(root, 'one'), 0);
    plant(join(root, 'two'));
    // A clock that moves 400 ms per look: the first check comes after a few files; no process uses 1,000 cores.
    let t = 0;
    const starved = await scan(join(root, 'two'), 2, 1000, () => (t += 400));
    expect(starved.threads.started).toBeGreaterThanOrEqual(2);
    expect(starved.threads.stopped).toBe(starved.threads.started);
    expect(starved.threads).not.toHaveProperty('failure');
    const rel = (r: typeof single, from: string) => JSON.parse(JSON.stringify(r).split(join(root, from)).join('ROOT'));
    expect(rel(starved, 'two').matches).toEqual(rel(single, 'one').matches);
    expect(rel(starved, 'two').errors).toEqual(rel(single, 'one').errors);
    expect(starved.counters).toEqual(single.counters);
  });

  it('send back the first bytes YARA scans, from the same read as the hashes, each file its own', async () => {
    writeFileSync(join(root, 'small.bin'), small);
    writeFileSync(join(root, 'big.bin'), big);
    const pool = new HashPool(2);
    try {
      const ask = (name: string, keep: number, size: number) => pool.hash(join(root, name), new Set(['sha256']), { sizeHint: size, keep });
      // Several files in one batch: each answer carries its own bytes.
      const rs = await Promise.all([
        ask('small.bin', 4096, small.length),
        ask('big.bin', 1024 * 1024, big.length),
        ask('small.bin', 5, small.length),
      ]);
      expect([pool.failure, pool.readOnThreads]).toEqual([undefined, 3]);
      expect(rs).toEqual([
        { bytesRead: small.length, hashes: { sha256: digest('sha256', small) }, prefix: small },
        { bytesRead: big.length, hashes: { sha256: digest('sha256', big) }, prefix: big.subarray(0, 1024 * 1024) },
        { bytesRead: small.length, hashes: { sha256: digest('sha256', small) }, prefix: small.subarray(0, 5) },
      ]);
    } finally {
      await pool.close();
    }
  });

  it('falls back to this thread, with the same result, when the threads cannot start', async () => {
    writeFileSync(join(root, 'a.bin'), small);
    const pool = new HashPool(2, new URL('file:///nonexistent/hash-worker.js'));
    try {
      const r = await pool.hash(join(root, 'a.bin'), new Set(['sha256', 'md5']), { sizeHint: small.length });
      expect(r).toEqual({ bytesRead: small.length, hashes: { sha256: digest('sha256', small), md5: digest('md5', small) } });
      await expect(pool.hash(join(root, 'gone'), new Set(['sha256']))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await pool.close();
    }
  });

  it('are used only when the CPU budget allows two cores or more', () => {
    expect(hashThreadsFor(100, 2)).toBe(2);
    expect(hashThreadsFor(50, 2)).toBe(0);
    expect(hashThreadsFor(50, 4)).toBe(4);
    expect(hashThreadsFor(100, 1)).toBe(0);
  });

  it('on a machine that keeps them starved, are tried again less and less often', async () => {
    const file = join(root, 'f.bin');
    writeFileSync(file, small);
    let t = 0;
    // No process gets 1,000 cores: every check stops the threads.
    const threads = new HashThreads({ threads: 1, after: 0, minCores: 1000, now: () => t });
    const readAt = async (at: number) => {
      t = at;
      await threads.read(file, new Set(['sha256']), { sizeHint: small.length });
      threads.check(at);
    };
    const startedBy = async (at: number) => {
      await readAt(at);
      return threads.used().started;
    };
    try {
      expect(await startedBy(0)).toBe(1);
      await readAt(1_000); // stopped; tried again 30 s later
      expect(await startedBy(30_000)).toBe(1);
      expect(await startedBy(31_000)).toBe(2);
      await readAt(32_000); // stopped again; now 60 s
      expect(await startedBy(62_000)).toBe(2);
      expect(await startedBy(92_000)).toBe(3);
      expect(threads.used().stopped).toBe(2);
    } finally {
      await threads.close();
    }
  });
});
