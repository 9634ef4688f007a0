import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, renameSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { SandgateError } from '@sandgate/shared';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';
import { sealMetadata } from '#native-host/quarantine/item-metadata.ts';
import { makeFixture, provenance, sha256, verdict, writeDownload, type QuarantineFixture } from './fixture.ts';

// A restore no longer hashes the decrypted content: what it writes is verified by the blob's AES-GCM tag (item key, item
// id as associated data) and by the recorded size (docs/decisions.md). Each check below must refuse the restore, leave
// nothing at the destination or beside it, and keep the item.

let fx: QuarantineFixture;
beforeEach(() => {
  fx = makeFixture();
});
afterEach(() => fx.cleanup());

// Several 1 MiB read chunks, so that most of the content has been decrypted and written before the tag is checked.
const multiChunk = () => randomBytes(5 * 1024 * 1024 + 333);

async function quarantined(name: string, content: Buffer): Promise<{ id: string; path: string; store: QuarantineStore }> {
  const path = writeDownload(fx.downloads, name, content);
  const store = QuarantineStore.open(fx.home);
  const { id } = await store.quarantine({ path, expectedSha256: sha256(content), verdict, provenance, jobId: 'job-restore' });
  return { id, path, store };
}

async function refusal(p: Promise<unknown>): Promise<SandgateError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SandgateError);
  return err as SandgateError;
}

function editBlob(blob: string, edit: (bytes: Buffer) => Buffer): void {
  writeFileSync(blob, edit(readFileSync(blob)));
}

const flipAt = (at: (size: number) => number) => (bytes: Buffer) => {
  const i = at(bytes.length);
  bytes[i] = bytes[i]! ^ 0x01;
  return bytes;
};

/** Nothing was published, no temporary file is left beside the destination, and the item is still in the store. */
function expectNothingRestored(path: string, id: string): void {
  expect(existsSync(path)).toBe(false);
  expect(readdirSync(fx.downloads)).toEqual([]);
  expect(QuarantineStore.open(fx.home).list().map((i) => i.id)).toEqual([id]);
}

describe('restore > the content written is verified before it is published', () => {
  const tampering: [string, (bytes: Buffer) => Buffer][] = [
    ['one byte flipped in the first chunk', flipAt(() => 100)],
    ['one byte flipped in the last chunk', flipAt((size) => size - 40)],
    ['one byte of the authentication tag flipped', flipAt((size) => size - 1)],
    ['one byte of the IV flipped', flipAt(() => 6)],
    ['its end cut off in the middle of a chunk', (bytes) => bytes.subarray(0, Math.floor(bytes.length * 0.7))],
    ['its last byte cut off', (bytes) => bytes.subarray(0, bytes.length - 1)],
    ['a byte appended', (bytes) => Buffer.concat([bytes, Buffer.from([0])])],
  ];
  for (const [what, edit] of tampering) {
    it(`refuses a stored copy with ${what}, leaving no file behind`, async () => {
      const { id, path, store } = await quarantined('setup.exe', multiChunk());
      editBlob(store.files(id).blob, edit);
      expect((await refusal(store.restore(id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
      expectNothingRestored(path, id);
    });
  }

  it('refuses a stored copy truncated to its header', async () => {
    const { id, path, store } = await quarantined('setup.exe', multiChunk());
    truncateSync(store.files(id).blob, 17);
    expect((await refusal(store.restore(id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
    expectNothingRestored(path, id);
  });

  it("refuses another item's stored copy put in its place (the item id is authenticated)", async () => {
    const a = await quarantined('a.exe', multiChunk());
    const b = await quarantined('b.exe', multiChunk());
    renameSync(a.store.files(a.id).blob, b.store.files(b.id).blob);
    expect((await refusal(b.store.restore(b.id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
    expect(existsSync(b.path)).toBe(false);
    expect(readdirSync(fx.downloads)).toEqual([]);
  });

  it('refuses content whose size is not the recorded one, even when the record itself authenticates', async () => {
    // Only a holder of the store's key could seal such a record; the size check still stops the restore.
    const content = multiChunk();
    const { id, path, store } = await quarantined('setup.exe', content);
    const files = store.files(id);
    const meta = store.readMetadata(id);
    writeFileSync(files.meta, sealMetadata(store.readKeys().mac, { ...meta, size: meta.size + 1 }));
    expect((await refusal(store.restore(id))).code).toBe('QUARANTINE_ITEM_CORRUPT');
    expectNothingRestored(path, id);
  });

  it('restores an untouched multi-chunk copy byte-identical, with its recorded size', async () => {
    const content = multiChunk();
    const { id, path, store } = await quarantined('setup.exe', content);
    await store.restore(id);
    expect(readFileSync(path).equals(content)).toBe(true);
    expect(statSync(path).size).toBe(content.length);
    expect(readdirSync(fx.downloads)).toEqual(['setup.exe']);
  });
});
