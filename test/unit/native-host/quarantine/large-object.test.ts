import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, openSync, readdirSync, readFileSync, closeSync, readSync, writeSync, fstatSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';
import { PARALLEL_MIN_BYTES } from '#native-host/quarantine/parallel-digests.ts';
import { makeFixture, provenance, verdict, writeDownload, type QuarantineFixture } from './fixture.ts';

let fx: QuarantineFixture;
beforeEach(() => {
  fx = makeFixture();
});
afterEach(() => fx.cleanup());

const digest = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
// Large enough that the digests run on worker threads; not a multiple of the 1 MiB chunk or the 64 KiB cipher piece.
const large = () => randomBytes(PARALLEL_MIN_BYTES + 1024 * 1024 + 4099);
const base = (path: string, content: Buffer) => ({
  path,
  expectedSha256: digest('sha256', content),
  verdict,
  provenance,
  jobId: 'job-large',
});

/** Flips one byte of a file in place. */
function flipByte(path: string, at: (size: number) => number): void {
  const fd = openSync(path, 'r+');
  try {
    const pos = at(fstatSync(fd).size);
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, pos);
    b[0] = b[0]! ^ 0x01;
    writeSync(fd, b, 0, 1, pos);
  } finally {
    closeSync(fd);
  }
}

describe('quarantine > a large object (digests on worker threads)', () => {
  it('records the same SHA-256, SHA-1 and MD5 as hashing the file directly, and restores it byte-identical', async () => {
    const content = large();
    const path = writeDownload(fx.downloads, 'setup.exe', content, 0o644);
    const store = QuarantineStore.open(fx.home);
    const { id } = await store.quarantine(base(path, content));
    expect(existsSync(path)).toBe(false);
    expect(store.show(id)).toMatchObject({
      size: content.length,
      sha256: digest('sha256', content),
      sha1: digest('sha1', content),
      md5: digest('md5', content),
    });
    await store.restore(id);
    expect(readFileSync(path).equals(content)).toBe(true);
  });

  it('leaves a large file alone whose content differs from what was judged', async () => {
    const content = large();
    const path = writeDownload(fx.downloads, 'setup.exe', content);
    const judged = Buffer.from(content);
    judged[judged.length - 1] = judged[judged.length - 1]! ^ 0xff;
    await expect(QuarantineStore.open(fx.home).quarantine(base(path, judged))).rejects.toMatchObject({ code: 'ORIGINAL_CHANGED' });
    expect(readFileSync(path).equals(content)).toBe(true);
    expect(readdirSync(sandgatePaths(fx.home).quarantine)).toEqual([]);
  });
});

describe('quarantine > the stored copy is verified before the original is deleted', () => {
  // The copy is checked through its AES-GCM tag rather than by hashing it again: a changed byte anywhere in the stored
  // ciphertext or its tag must still stop the deletion.
  const where: [string, (size: number) => number][] = [
    ['the middle of the ciphertext', (size) => Math.floor(size / 2)],
    ['the authentication tag', (size) => size - 1],
  ];
  for (const [name, at] of where) {
    for (const [label, make] of [
      ['a large object', large],
      ['a small object', () => randomBytes(5000)],
    ] as const) {
      it(`refuses to delete ${label} when ${name} of the stored copy was changed before verification`, async () => {
        const content = make();
        const path = writeDownload(fx.downloads, 'setup.exe', content);
        const err = await QuarantineStore.open(fx.home)
          .quarantine(base(path, content), { beforeVerify: (files) => flipByte(files.blob, at) })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toMatchObject({ code: 'QUARANTINE_FAILED', params: { reason: 'VERIFY_FAILED' } });
        expect(readFileSync(path).equals(content)).toBe(true);
        expect(readdirSync(sandgatePaths(fx.home).quarantine)).toEqual([]);
      });
    }
  }
});
