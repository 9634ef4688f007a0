import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Verdict } from '@sandgate/shared';
import { realClock, type Clock } from '#native-host/clock.ts';
import { VerdictCache, type VerdictCacheOptions } from '#native-host/queue/verdict-cache.ts';

let dir: string;
let file: string;
let nowMs: number;
const clock: Clock = { ...realClock, now: () => new Date(nowMs) };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sg-vcache-'));
  file = join(dir, 'cache', 'verdicts.jsonl');
  nowMs = Date.UTC(2026, 10, 22, 9);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3600_000;
const sha = (n: number) => n.toString(16).padStart(64, '0');
const malicious: Verdict = {
  level: 'malicious',
  threat: 'EICAR-Test-File',
  server: 'https://127.0.0.1:8443',
  judgedAt: '2026-11-22T09:00:00.000Z',
};
const open = (extra: Partial<VerdictCacheOptions> = {}) => VerdictCache.open({ file, ttlMs: 24 * HOUR, clock, ...extra });

describe('verdict cache', () => {
  it('remembers a verdict across restarts until its TTL runs out', async () => {
    const c1 = await open();
    await c1.put(sha(1), malicious);
    nowMs += 23 * HOUR;
    expect((await open()).get(sha(1))).toEqual(malicious);
    nowMs += 2 * HOUR;
    expect((await open()).get(sha(1))).toBeUndefined();
  });

  it('caches malicious, suspicious and clean verdicts, never unknown ones nor a verdict that came from the cache', async () => {
    const c = await open();
    await c.put(sha(1), { level: 'clean', server: 's' });
    await c.put(sha(2), { level: 'suspicious', server: 's' });
    await c.put(sha(3), { level: 'unknown', server: 's' });
    await c.put(sha(4), { ...malicious, cached: true });
    expect([1, 2, 3, 4].map((n) => c.get(sha(n))?.level)).toEqual(['clean', 'suspicious', undefined, undefined]);
  });

  it('a cached verdict handed out again does not renew its expiry', async () => {
    const c = await open();
    await c.put(sha(1), malicious);
    nowMs += 20 * HOUR;
    await c.put(sha(1), { ...c.get(sha(1))!, cached: true });
    nowMs += 5 * HOUR;
    expect((await open()).get(sha(1))).toBeUndefined();
  });

  it('skips a torn last line and lines that do not parse, keeping every whole entry', async () => {
    const c = await open();
    await c.put(sha(1), malicious);
    await c.put(sha(2), { level: 'clean', server: 's' });
    appendFileSync(file, '{"sha256":"' + sha(3) + '","verdict":{"level":"malicious","ser');
    appendFileSync(file, '\n{"sha256":"not a hash","verdict":{"level":"clean","server":"s"},"storedAt":"2026-11-22T09:00:00.000Z"}\n');
    const again = await open();
    expect([1, 2, 3].map((n) => again.get(sha(n))?.level)).toEqual(['malicious', 'clean', undefined]);
    await again.put(sha(4), malicious);
    expect((await open()).get(sha(4))).toEqual(malicious);
  });

  it('drops a remembered verdict whose line had one byte flipped on disk, even though it is still valid JSON', async () => {
    const c = await open();
    await c.put(sha(1), { level: 'clean', server: 's' });
    await c.put(sha(2), { level: 'clean', server: 's' });
    // sha(1) ends in ...0001; flipped to ...0003 the line still parses and would call other bytes clean.
    writeFileSync(file, readFileSync(file, 'utf8').replace(sha(1), sha(3)));
    const again = await open();
    expect([1, 2, 3].map((n) => again.get(sha(n))?.level)).toEqual([undefined, 'clean', undefined]);
  });

  it('does not believe a line written without its seal (a hand-edited or pre-upgrade cache)', async () => {
    mkdirSync(join(dir, 'cache'), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ sha256: sha(1), verdict: { level: 'clean', server: 's' }, storedAt: '2026-11-22T09:00:00.000Z' }) + '\n',
    );
    expect((await open()).get(sha(1))).toBeUndefined();
  });

  it('stays bounded: the oldest entries go, and the file is rewritten whole', async () => {
    const c = await open({ maxEntries: 3 });
    for (let i = 1; i <= 10; i++) await c.put(sha(i), { level: 'clean', server: 's' });
    expect(c.size).toBe(3);
    const again = await open({ maxEntries: 3 });
    expect([8, 9, 10].every((n) => again.get(sha(n)))).toBe(true);
    expect(again.get(sha(7))).toBeUndefined();
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(6);
    expect(readdirSync(join(dir, 'cache')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('with a TTL of 0 it is off: nothing is read, answered or written', async () => {
    await (await open()).put(sha(1), malicious);
    rmSync(file);
    writeFileSync(file, '');
    const off = await open({ ttlMs: 0 });
    await off.put(sha(2), malicious);
    expect(off.get(sha(2))).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe('');
    rmSync(join(dir, 'cache'), { recursive: true });
    await (await open({ ttlMs: 0 })).put(sha(3), malicious);
    expect(existsSync(join(dir, 'cache'))).toBe(false);
  });
});
