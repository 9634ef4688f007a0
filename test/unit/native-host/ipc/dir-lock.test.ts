import { mkdirSync, mkdtempSync, rmSync, utimesSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withDirLock } from '#native-host/ipc/dir-lock.ts';
import { readableId } from '#native-host/ipc/serve-connection.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sandgate-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('dir lock', () => {
  it('runs critical sections one at a time and releases the lock afterwards', async () => {
    const lock = join(dir, 'l.lock');
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    const section = (n: number) =>
      withDirLock(
        lock,
        async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setImmediate(r));
          order.push(n);
          inside--;
          return n;
        },
        { timeoutMs: 10_000, staleMs: 60_000, pollMs: 1 },
      );
    expect(await Promise.all([1, 2, 3, 4].map(section))).toEqual([1, 2, 3, 4]);
    expect(maxInside).toBe(1);
    expect(order.sort()).toEqual([1, 2, 3, 4]);
    expect(existsSync(lock)).toBe(false);
  });

  it('releases the lock when the section throws', async () => {
    const lock = join(dir, 'l.lock');
    await expect(withDirLock(lock, async () => Promise.reject(new Error('x')), { timeoutMs: 1000, staleMs: 60_000 })).rejects.toThrow('x');
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock left behind by a dead holder once it is stale', async () => {
    const lock = join(dir, 'l.lock');
    mkdirSync(lock);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(lock, old, old);
    expect(await withDirLock(lock, async () => 'got it', { timeoutMs: 1000, staleMs: 60_000 })).toBe('got it');
  });
});

describe('readableId', () => {
  it('answers an invalid message with its own id when it has a usable one, else "-"', () => {
    expect(readableId({ id: 'abc', junk: true })).toBe('abc');
    expect(readableId({ id: 42 })).toBe('-');
    expect(readableId({ id: 'x'.repeat(65) })).toBe('-');
    expect(readableId([1, 2])).toBe('-');
    expect(readableId(null)).toBe('-');
  });
});
