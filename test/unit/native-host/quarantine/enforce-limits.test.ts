import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventLog } from '#native-host/events/event-log.ts';
import { makeFixture, provenance, sha256, verdict, writeDownload, type QuarantineFixture } from './fixture.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

let fx: QuarantineFixture;
let events: EventLog;
beforeEach(() => {
  fx = makeFixture();
  events = new EventLog(join(fx.home, 'events'));
});
afterEach(() => fx.cleanup());

const DAY = 86_400_000;

async function quarantineSample(name: string, bytes: number): Promise<string> {
  const content = randomBytes(bytes);
  const path = writeDownload(fx.downloads, name, content);
  const { id } = await QuarantineStore.open(fx.home).quarantine({
    path,
    expectedSha256: sha256(content),
    verdict,
    provenance,
    jobId: `job-${name}`,
  });
  // quarantinedAt has millisecond resolution; keep the items' order unambiguous.
  await new Promise((r) => setTimeout(r, 5));
  return id;
}

const loggedTypes = () =>
  (existsSync(join(fx.home, 'events', 'events.jsonl')) ? readFileSync(join(fx.home, 'events', 'events.jsonl'), 'utf8') : '')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; message?: string; quarantineId?: string });

describe('quarantine storage limits', () => {
  it('over the size limit, the oldest items go first and the newest is kept; each removal and the limit are logged', async () => {
    const a = await quarantineSample('a.exe', 100_000);
    const b = await quarantineSample('b.exe', 100_000);
    const c = await quarantineSample('c.exe', 100_000);
    const r = await QuarantineStore.open(fx.home, { events }).enforceLimits({ maxBytes: 250_000 }, { now: new Date(), keep: c });
    expect(r.removed).toEqual([{ id: a, reason: 'size' }]);
    expect(r.overLimit).toBe(false);
    expect(
      QuarantineStore.open(fx.home)
        .list()
        .map((i) => i.id),
    ).toEqual([b, c]);
    const logged = loggedTypes();
    expect(logged).toContainEqual(
      expect.objectContaining({ type: 'quarantine-deleted', quarantineId: a, message: expect.stringMatching(/oldest item removed/) }),
    );
    expect(logged.filter((e) => e.type === 'quarantine-limit-reached')).toHaveLength(1);
  });

  it('items past the age limit are removed, never the one just quarantined', async () => {
    const old = await quarantineSample('old.exe', 1000);
    const young = await quarantineSample('young.exe', 1000);
    // 91 days from now both are past a 90-day limit; the item just quarantined (`keep`) is never removed.
    const r = await QuarantineStore.open(fx.home, { events }).enforceLimits(
      { maxAgeMs: 90 * DAY },
      { now: new Date(Date.now() + 91 * DAY), keep: young },
    );
    expect(r.removed).toEqual([{ id: old, reason: 'age' }]);
    expect(
      QuarantineStore.open(fx.home)
        .list()
        .map((i) => i.id),
    ).toEqual([young]);
  });

  it('a new item larger than the whole limit is still quarantined, and the event says the store is over its limit', async () => {
    const big = await quarantineSample('big.iso', 300_000);
    const r = await QuarantineStore.open(fx.home, { events }).enforceLimits({ maxBytes: 200_000 }, { now: new Date(), keep: big });
    expect(r).toMatchObject({ removed: [], overLimit: true });
    expect(
      QuarantineStore.open(fx.home)
        .list()
        .map((i) => i.id),
    ).toEqual([big]);
    expect(loggedTypes()).toContainEqual(
      expect.objectContaining({ type: 'quarantine-limit-reached', message: expect.stringMatching(/still over the size limit/) }),
    );
  });

  it('within the limits nothing is removed and nothing is logged', async () => {
    const a = await quarantineSample('a.exe', 1000);
    const before = loggedTypes().length;
    const r = await QuarantineStore.open(fx.home, { events }).enforceLimits(
      { maxBytes: 1024 ** 3, maxAgeMs: 90 * DAY },
      { now: new Date(), keep: a },
    );
    expect(r.removed).toEqual([]);
    expect(loggedTypes()).toHaveLength(before);
  });

  it('an item whose metadata was tampered with is counted but never removed automatically', async () => {
    const bad = await quarantineSample('bad.exe', 100_000);
    const good = await quarantineSample('good.exe', 100_000);
    const newest = await quarantineSample('new.exe', 100_000);
    const meta = join(fx.home, 'quarantine', `${bad}.json`);
    writeFileSync(meta, readFileSync(meta, 'utf8').replace('bad.exe', 'bad.txt'));
    const r = await QuarantineStore.open(fx.home, { events }).enforceLimits({ maxBytes: 150_000 }, { now: new Date(), keep: newest });
    expect(r.removed).toEqual([{ id: good, reason: 'size' }]);
    expect(r.overLimit).toBe(true);
    expect(readFileSync(meta, 'utf8')).toContain('bad.txt');
  });
});
