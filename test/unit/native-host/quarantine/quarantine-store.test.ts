import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { deriveStoreKeys, fileKeySource } from '#native-host/quarantine/key-source.ts';
import { itemFiles } from '#native-host/quarantine/store-layout.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { EICAR, makeFixture, provenance, sha256, verdict, writeDownload, type QuarantineFixture } from './fixture.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

let fx: QuarantineFixture;
beforeEach(() => {
  fx = makeFixture();
});
afterEach(() => fx.cleanup());

async function quarantined(name = 'eicar.com', content = EICAR, mode = 0o640): Promise<{ id: string; path: string }> {
  const path = writeDownload(fx.downloads, name, content, mode);
  const { id } = await QuarantineStore.open(fx.home).quarantine({
    path,
    expectedSha256: sha256(content),
    verdict,
    provenance,
    jobId: 'job-1',
  });
  return { id, path };
}

async function rejection(p: Promise<unknown>): Promise<SandgateError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SandgateError);
    return err as SandgateError;
  }
  throw new Error('expected a SandgateError');
}

const events = () => new EventLog(sandgatePaths(fx.home).events).read().events;
const strays = (dir: string) => readdirSync(dir).filter((f) => f.includes('sandgate-'));

describe('the quarantine store, opened once', () => {
  it('reads its key once however many objects it takes, lists and gives back, and looking at an unused store creates nothing', async () => {
    let loads = 0;
    const real = fileKeySource(fx.home);
    const store = QuarantineStore.open(fx.home, { keySource: { load: () => (loads++, real.load()) } });
    expect(store.list()).toEqual([]);
    expect(existsSync(sandgatePaths(fx.home).quarantine)).toBe(false);
    const a = writeDownload(fx.downloads, 'a.com', EICAR);
    const other = Buffer.concat([EICAR, Buffer.from(' ')]);
    const b = writeDownload(fx.downloads, 'b.com', other);
    const { id } = await store.quarantine({ path: a, expectedSha256: sha256(EICAR), verdict, provenance, jobId: 'job-a' });
    await store.quarantine({ path: b, expectedSha256: sha256(other), verdict, provenance, jobId: 'job-b' });
    expect(store.list()).toHaveLength(2);
    expect(store.show(id).originalPath).toBe(a);
    await store.restore(id);
    expect(readFileSync(a)).toEqual(EICAR);
    expect(loads).toBe(1);
  });
});

describe('quarantine > restore', () => {
  it('brings the object back byte-identical with its permissions and times, and empties the item', async () => {
    const { id, path } = await quarantined('tool.exe', EICAR, 0o751);
    const meta = QuarantineStore.open(fx.home).show(id);
    const { path: restored } = await QuarantineStore.open(fx.home).restore(id);
    expect(restored).toBe(path);
    expect(readFileSync(path)).toEqual(EICAR);
    const st = statSync(path);
    expect(st.mode & 0o7777).toBe(0o751);
    expect(Math.abs(st.mtimeMs - meta.mtimeMs)).toBeLessThan(1);
    expect(QuarantineStore.open(fx.home).list()).toEqual([]);
    expect(readdirSync(sandgatePaths(fx.home).quarantine)).toEqual([]);
    expect(events()).toEqual([
      expect.objectContaining({ type: 'restored', quarantineId: id, path, sha256: sha256(EICAR), threat: 'EICAR-Test-File' }),
    ]);
  });

  it('round-trips a multi-megabyte object that spans many chunks', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const { id, path } = await quarantined('big.bin', big, 0o600);
    await QuarantineStore.open(fx.home).restore(id);
    expect(sha256(readFileSync(path))).toBe(sha256(big));
  });

  it('restores into another folder under the original name with --to FOLDER', async () => {
    const { id } = await quarantined();
    const other = join(fx.root, 'restored');
    mkdirSync(other);
    expect((await QuarantineStore.open(fx.home).restore(id, { to: other })).path).toBe(join(other, 'eicar.com'));
    expect(readFileSync(join(other, 'eicar.com'))).toEqual(EICAR);
  });

  it('restores to a new file name with --to FILE', async () => {
    const { id } = await quarantined();
    const target = join(fx.root, 'second-opinion.bin');
    expect((await QuarantineStore.open(fx.home).restore(id, { to: target })).path).toBe(target);
    expect(readFileSync(target)).toEqual(EICAR);
  });

  it('never overwrites an existing file, and keeps the item', async () => {
    const { id, path } = await quarantined();
    writeFileSync(path, 'the person saved something new here');
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('RESTORE_TARGET_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('the person saved something new here');
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
    expect(strays(fx.downloads)).toEqual([]);
  });

  it('never writes through a symbolic link planted at the destination', async () => {
    const { id, path } = await quarantined();
    const victim = writeDownload(fx.root, 'victim.txt', Buffer.from('precious'));
    symlinkSync(victim, path);
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('RESTORE_TARGET_UNSAFE');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
  });

  it('refuses a symbolic link planted at the destination while the restore runs', async () => {
    const { id, path } = await quarantined();
    const victim = writeDownload(fx.root, 'victim.txt', Buffer.from('precious'));
    const err = await rejection(QuarantineStore.open(fx.home).restore(id, {}, { beforePublish: (dest) => symlinkSync(victim, dest) }));
    expect(err.code).toBe('RESTORE_TARGET_UNSAFE');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
    expect(strays(fx.downloads)).toEqual([]);
  });

  it('refuses a destination folder replaced by a symbolic link (the AVGater pattern)', async () => {
    const { id } = await quarantined();
    const privileged = join(fx.root, 'privileged');
    mkdirSync(privileged);
    rmSync(fx.downloads, { recursive: true });
    symlinkSync(privileged, fx.downloads);
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('RESTORE_TARGET_UNSAFE');
    expect(readdirSync(privileged)).toEqual([]);
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
  });

  it('refuses --to a symbolic link', async () => {
    const { id } = await quarantined();
    const privileged = join(fx.root, 'privileged');
    mkdirSync(privileged);
    symlinkSync(privileged, join(fx.root, 'innocent'));
    expect((await rejection(QuarantineStore.open(fx.home).restore(id, { to: join(fx.root, 'innocent') }))).code).toBe(
      'RESTORE_TARGET_UNSAFE',
    );
    expect(readdirSync(privileged)).toEqual([]);
  });

  it('lets exactly one of two simultaneous restores win', async () => {
    const { id, path } = await quarantined();
    const results = await Promise.allSettled([QuarantineStore.open(fx.home).restore(id), QuarantineStore.open(fx.home).restore(id)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(['QUARANTINE_ITEM_BUSY', 'QUARANTINE_ITEM_NOT_FOUND']).toContain((lost[0]!.reason as SandgateError).code);
    expect(readFileSync(path)).toEqual(EICAR);
    expect(events().filter((e) => e.type === 'restored')).toHaveLength(1);
  });

  it('takes over a lock left behind by a process that died', async () => {
    const { id, path } = await quarantined();
    // pid 2^22+1 is above Linux's default pid_max, so no live process has it
    writeFileSync(itemFiles(fx.home, id).lock, String(4194305));
    await QuarantineStore.open(fx.home).restore(id);
    expect(readFileSync(path)).toEqual(EICAR);
  });
});

describe('quarantine > tampering is detected and refused', () => {
  it('refuses to restore an item whose content had one byte flipped', async () => {
    const { id, path } = await quarantined();
    const blob = itemFiles(fx.home, id).blob;
    const bytes = readFileSync(blob);
    bytes[30] = bytes[30]! ^ 0x01;
    writeFileSync(blob, bytes);
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
    expect(existsSync(path)).toBe(false);
    expect(strays(fx.downloads)).toEqual([]);
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
  });

  it('refuses an item whose metadata was edited, and leaves it out of the list', async () => {
    const { id } = await quarantined();
    const metaFile = itemFiles(fx.home, id).meta;
    writeFileSync(metaFile, readFileSync(metaFile, 'utf8').replace('EICAR-Test-File', 'Harmless'));
    expect(() => QuarantineStore.open(fx.home).show(id)).toThrow(expect.objectContaining({ code: 'QUARANTINE_ITEM_CORRUPT' }));
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
    expect(QuarantineStore.open(fx.home).listItems()).toEqual({ items: [], corrupt: [id] });
  });

  it('refuses metadata moved to another item', async () => {
    const a = await quarantined('a.com');
    const b = await quarantined('b.com');
    writeFileSync(itemFiles(fx.home, b.id).meta, readFileSync(itemFiles(fx.home, a.id).meta));
    expect(() => QuarantineStore.open(fx.home).show(b.id)).toThrow(expect.objectContaining({ code: 'QUARANTINE_ITEM_CORRUPT' }));
  });

  it('refuses a path-traversal original path even when the record authenticates', async () => {
    const { id } = await quarantined();
    const keys = deriveStoreKeys(fileKeySource(fx.home).load());
    const metaFile = itemFiles(fx.home, id).meta;
    const inner = JSON.parse(JSON.parse(readFileSync(metaFile, 'utf8')).metadata);
    const text = JSON.stringify({ ...inner, originalPath: `${fx.downloads}/../../../etc/cron.d/x` });
    const mac = createHmac('sha256', keys.mac).update(`sandgate-quarantine-meta-v1\0${id}\0`).update(text).digest('hex');
    writeFileSync(metaFile, JSON.stringify({ format: 1, metadata: text, mac }));
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
  });

  it('treats ids that are paths as unknown items', async () => {
    await quarantined();
    expect((await rejection(QuarantineStore.open(fx.home).restore('../keys/quarantine'))).code).toBe('QUARANTINE_ITEM_NOT_FOUND');
    expect((await rejection(QuarantineStore.open(fx.home).delete('../../etc/passwd'))).code).toBe('QUARANTINE_ITEM_NOT_FOUND');
  });
});

describe('quarantine > delete', () => {
  it('removes the item for good and records why', async () => {
    const { id, path } = await quarantined();
    await QuarantineStore.open(fx.home).delete(id);
    expect(QuarantineStore.open(fx.home).list()).toEqual([]);
    expect(existsSync(path)).toBe(false);
    expect((await rejection(QuarantineStore.open(fx.home).restore(id))).code).toBe('QUARANTINE_ITEM_NOT_FOUND');
    expect(events()).toEqual([
      expect.objectContaining({ type: 'quarantine-deleted', quarantineId: id, message: expect.stringContaining(path) }),
    ]);
  });

  it('can clear an item whose metadata no longer verifies', async () => {
    const { id } = await quarantined();
    writeFileSync(itemFiles(fx.home, id).meta, '{}');
    await QuarantineStore.open(fx.home).delete(id);
    expect(readdirSync(sandgatePaths(fx.home).quarantine)).toEqual([]);
  });

  it('reports an unknown item', async () => {
    expect((await rejection(QuarantineStore.open(fx.home).delete('a'.repeat(32)))).code).toBe('QUARANTINE_ITEM_NOT_FOUND');
  });
});
