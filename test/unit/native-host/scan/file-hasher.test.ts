import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFile } from '#native-host/scan/file-hasher.ts';
import { HashCache, fileObservation } from '#native-host/scan/file-observation.ts';

let root: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-hash-')));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const digest = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');

describe('hashing a file', () => {
  it('computes MD5, SHA-1 and SHA-256 from one pass over a file larger than the read buffer', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const p = join(root, 'big.bin');
    writeFileSync(p, data);
    const r = await hashFile(p, new Set(['md5', 'sha1', 'sha256']));
    expect(r).toEqual({
      bytesRead: data.length,
      hashes: { md5: digest('md5', data), sha1: digest('sha1', data), sha256: digest('sha256', data) },
    });
  });

  it('keeps the first bytes for YARA from the same pass as the hashes, and reads no further when no hash is needed', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const p = join(root, 'big.bin');
    writeFileSync(p, data);
    const both = await hashFile(p, new Set(['sha256']), { keep: 1024 * 1024 + 5 });
    expect(both.bytesRead).toBe(data.length);
    expect(both.hashes.sha256).toBe(digest('sha256', data));
    expect(both.prefix!.equals(data.subarray(0, 1024 * 1024 + 5))).toBe(true);
    const prefixOnly = await hashFile(p, new Set(), { keep: 1024 * 1024 + 5 });
    expect(prefixOnly.bytesRead).toBe(1024 * 1024 + 5);
    expect(prefixOnly.prefix!.equals(data.subarray(0, 1024 * 1024 + 5))).toBe(true);
    const small = join(root, 'small.bin');
    writeFileSync(small, data.subarray(0, 100));
    const sync = await hashFile(small, new Set(), { keep: 1024, sizeHint: 100 });
    expect([sync.bytesRead, sync.prefix!.equals(data.subarray(0, 100))]).toEqual([100, true]);
  });

  it('serves hashes and content of one observation from one read', async () => {
    const data = randomBytes(600 * 1024);
    const p = join(root, 'f.bin');
    writeFileSync(p, data);
    const counters = { hashed: 0, bytesRead: 0 };
    const o = fileObservation({ path: p, stat: lstatSync(p), planned: new Set(['md5']), plannedContent: 4096, counters });
    expect((await o.hashes(new Set(['md5']))).md5).toBe(digest('md5', data));
    expect(Buffer.from(await o.content!(4096)).equals(data.subarray(0, 4096))).toBe(true);
    expect(counters).toEqual({ hashed: 1, bytesRead: data.length });
  });

  it('hashes an empty file', async () => {
    const p = join(root, 'empty');
    writeFileSync(p, '');
    expect((await hashFile(p, new Set(['sha256']))).hashes.sha256).toBe(digest('sha256', Buffer.alloc(0)));
  });

  it('refuses to read through a symbolic link', async () => {
    writeFileSync(join(root, 'target'), 'x');
    symlinkSync(join(root, 'target'), join(root, 'link'));
    await expect(hashFile(join(root, 'link'), new Set(['sha256']))).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('refuses a file swapped for another after it was listed', async () => {
    const p = join(root, 'f');
    writeFileSync(p, 'original');
    const listed = lstatSync(p);
    writeFileSync(join(root, 'other'), 'swapped in');
    renameSync(join(root, 'other'), p);
    await expect(hashFile(p, new Set(['sha256']), { expect: listed })).rejects.toMatchObject({ code: 'ECHANGED' });
  });

  it('reads at most the limit (a boot sector is the first 512 bytes of a disk)', async () => {
    const disk = randomBytes(4096);
    writeFileSync(join(root, 'disk'), disk);
    const r = await hashFile(join(root, 'disk'), new Set(['sha256']), { limit: 512 });
    expect(r).toEqual({ bytesRead: 512, hashes: { sha256: digest('sha256', disk.subarray(0, 512)) } });
  });
});

describe('a lazy file observation', () => {
  it('reads nothing until a hash is asked for, then reads once for every planned hash', async () => {
    const data = randomBytes(100_000);
    const p = join(root, 'f');
    writeFileSync(p, data);
    const counters = { hashed: 0, bytesRead: 0 };
    const obs = fileObservation({ path: p, stat: lstatSync(p), planned: new Set(['sha256', 'md5']), counters });
    expect(obs).toMatchObject({ fileName: 'f', fileExtension: '', size: 100_000 });
    expect(counters.hashed).toBe(0);
    expect((await obs.hashes(new Set(['sha256']))).sha256).toBe(digest('sha256', data));
    // The MD5 came with the same read, since the plan named it.
    expect((await obs.hashes(new Set(['md5']))).md5).toBe(digest('md5', data));
    expect(counters).toEqual({ hashed: 1, bytesRead: 100_000 });
  });

  it('reads a file once per scan even when several places name it (shared cache by identity)', async () => {
    const p = join(root, 'exe');
    writeFileSync(p, 'program');
    const counters = { hashed: 0, bytesRead: 0 };
    const cache = new HashCache();
    const st = lstatSync(p);
    for (let i = 0; i < 5; i++) await fileObservation({ path: p, stat: st, cache, counters }).hashes(new Set(['sha256']));
    expect(counters.hashed).toBe(1);
  });
});
