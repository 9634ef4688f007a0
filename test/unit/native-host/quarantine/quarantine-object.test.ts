import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EICAR, makeFixture, provenance, sha256, verdict, writeDownload, type QuarantineFixture } from './fixture.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

let fx: QuarantineFixture;
beforeEach(() => {
  fx = makeFixture();
});
afterEach(() => fx.cleanup());

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SandgateError);
    return { code: (err as SandgateError).code, message: (err as SandgateError).message };
  }
  throw new Error('expected a SandgateError');
}

const base = (path: string) => ({ path, expectedSha256: sha256(EICAR), verdict, provenance, jobId: 'job-1' });

describe('quarantine > moving a malicious download into quarantine', () => {
  it('stores an encrypted copy with its full story and deletes the original', async () => {
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR, 0o640);
    const before = statSync(path);
    const { id } = await QuarantineStore.open(fx.home).quarantine(base(path));

    expect(existsSync(path)).toBe(false);
    const items = QuarantineStore.open(fx.home).list();
    expect(items).toEqual([
      expect.objectContaining({
        id,
        originalPath: path,
        sha256: sha256(EICAR),
        size: EICAR.length,
        threat: 'EICAR-Test-File',
        level: 'malicious',
        sourceUrl: provenance.finalUrl,
      }),
    ]);
    const meta = QuarantineStore.open(fx.home).show(id);
    expect(meta).toMatchObject({
      mode: 0o640,
      owner: { uid: before.uid, gid: before.gid },
      mtimeMs: before.mtimeMs,
      md5: expect.stringMatching(/^[0-9a-f]{32}$/),
      sha1: expect.stringMatching(/^[0-9a-f]{40}$/),
      source: { kind: 'browser', url: provenance.url, referrer: provenance.referrer, downloadId: 7 },
      jobId: 'job-1',
      reason: expect.stringContaining('EICAR-Test-File'),
    });
    // Encrypted at rest: the signature an anti-virus would flag is nowhere in the store.
    const store = sandgatePaths(fx.home).quarantine;
    for (const f of readdirSync(store)) expect(readFileSync(join(store, f)).includes(Buffer.from('EICAR-STANDARD'))).toBe(false);
    expect(readdirSync(store).sort()).toEqual([`${id}.blob`, `${id}.json`]);
  });

  it('keeps the store and its key private to the account', async () => {
    await QuarantineStore.open(fx.home).quarantine(base(writeDownload(fx.downloads, 'eicar.com', EICAR)));
    const store = sandgatePaths(fx.home).quarantine;
    expect(statSync(store).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(store)) expect(statSync(join(store, f)).mode & 0o777).toBe(0o600);
    expect(statSync(join(fx.home, 'keys')).mode & 0o777).toBe(0o700);
    const key = statSync(join(fx.home, 'keys', 'quarantine.key'));
    expect(key.mode & 0o777).toBe(0o600);
    expect(key.size).toBe(32);
  });

  it('gives every item a random id unrelated to its name or content', async () => {
    const a = await QuarantineStore.open(fx.home).quarantine(base(writeDownload(fx.downloads, 'a.com', EICAR)));
    const b = await QuarantineStore.open(fx.home).quarantine(base(writeDownload(fx.downloads, 'b.com', EICAR)));
    expect(a.id).not.toBe(b.id);
    expect(a.id).not.toContain(sha256(EICAR).slice(0, 8));
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(2);
  });
});

describe('quarantine > attacks on the original are refused and nothing is lost', () => {
  it('leaves a file alone whose content changed after the verdict', async () => {
    const path = writeDownload(fx.downloads, 'report.pdf', Buffer.from('the bytes the person has now'));
    const err = await codeOf(QuarantineStore.open(fx.home).quarantine(base(path)));
    expect(err.code).toBe('ORIGINAL_CHANGED');
    expect(readFileSync(path, 'utf8')).toBe('the bytes the person has now');
    expect(QuarantineStore.open(fx.home).list()).toEqual([]);
    expect(readdirSync(sandgatePaths(fx.home).quarantine)).toEqual([]);
  });

  it('refuses a symbolic link swapped in for the judged file, and never touches its target', async () => {
    const victim = writeDownload(fx.root, 'victim.txt', Buffer.from('precious'));
    const path = join(fx.downloads, 'eicar.com');
    symlinkSync(victim, path);
    const err = await codeOf(QuarantineStore.open(fx.home).quarantine(base(path)));
    expect(err.code).toBe('ORIGINAL_CHANGED');
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(QuarantineStore.open(fx.home).list()).toEqual([]);
  });

  it('refuses to delete when a symbolic link replaces the file between verification and deletion, keeping the copy', async () => {
    const victim = writeDownload(fx.root, 'victim.txt', Buffer.from('precious'));
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR);
    let err: { code: string; message: string } | undefined;
    try {
      await QuarantineStore.open(fx.home).quarantine(base(path), {
        beforeDelete: () => {
          unlinkSync(path);
          symlinkSync(victim, path);
        },
      });
    } catch (e) {
      err = { code: (e as SandgateError).code, message: (e as SandgateError).message };
    }
    expect(err?.code).toBe('ORIGINAL_CHANGED');
    expect(err?.message).toMatch(/quarantine copy [0-9a-f]{32} was kept/);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
  });

  it('refuses to delete a different file renamed over the original after verification', async () => {
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR);
    const other = writeDownload(fx.downloads, 'other', Buffer.from('a new file with the same name'));
    await expect(
      QuarantineStore.open(fx.home).quarantine(base(path), { beforeDelete: () => renameSync(other, path) }),
    ).rejects.toMatchObject({ code: 'ORIGINAL_CHANGED' });
    expect(readFileSync(path, 'utf8')).toBe('a new file with the same name');
    expect(QuarantineStore.open(fx.home).list()).toHaveLength(1);
  });

  it('refuses an original reached through a folder that is a symbolic link', async () => {
    const real = join(fx.root, 'elsewhere');
    mkdirSync(real);
    const path = writeDownload(real, 'eicar.com', EICAR);
    const linkedDir = join(fx.downloads, 'linked');
    symlinkSync(real, linkedDir);
    const err = await codeOf(QuarantineStore.open(fx.home).quarantine(base(join(linkedDir, 'eicar.com'))));
    expect(err.code).toBe('QUARANTINE_FAILED');
    expect(readFileSync(path)).toEqual(EICAR);
    expect(QuarantineStore.open(fx.home).list()).toEqual([]);
  });

  it('refuses a file with a second hard link, since deleting one name would not remove it', async () => {
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR);
    const { linkSync } = await import('node:fs');
    linkSync(path, join(fx.root, 'second-name'));
    expect((await codeOf(QuarantineStore.open(fx.home).quarantine(base(path)))).code).toBe('QUARANTINE_FAILED');
    expect(readFileSync(path)).toEqual(EICAR);
  });

  it('refuses a relative or unnormalised path', async () => {
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR);
    expect((await codeOf(QuarantineStore.open(fx.home).quarantine(base(`${fx.downloads}/../Downloads/eicar.com`)))).code).toBe(
      'QUARANTINE_FAILED',
    );
    expect((await codeOf(QuarantineStore.open(fx.home).quarantine(base('Downloads/eicar.com')))).code).toBe('QUARANTINE_FAILED');
    expect(readFileSync(path)).toEqual(EICAR);
  });

  it('refuses a missing original', async () => {
    expect((await codeOf(QuarantineStore.open(fx.home).quarantine(base(join(fx.downloads, 'gone.com'))))).code).toBe('ORIGINAL_CHANGED');
  });

  it('refuses a quarantine store that is a symbolic link, leaving the original in place', async () => {
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR);
    mkdirSync(fx.home);
    mkdirSync(join(fx.root, 'attacker-store'));
    symlinkSync(join(fx.root, 'attacker-store'), sandgatePaths(fx.home).quarantine);
    expect((await codeOf(QuarantineStore.open(fx.home).quarantine(base(path)))).code).toBe('QUARANTINE_FAILED');
    expect(readFileSync(path)).toEqual(EICAR);
    expect(readdirSync(join(fx.root, 'attacker-store'))).toEqual([]);
  });

  it('does not delete the original when writing the key file is impossible', async () => {
    const path = writeDownload(fx.downloads, 'eicar.com', EICAR);
    mkdirSync(join(fx.home, 'keys'), { recursive: true });
    writeFileSync(join(fx.home, 'keys', 'quarantine.key'), 'short', { mode: 0o600 });
    expect((await codeOf(QuarantineStore.open(fx.home).quarantine(base(path)))).code).toBe('QUARANTINE_FAILED');
    expect(readFileSync(path)).toEqual(EICAR);
  });
});
