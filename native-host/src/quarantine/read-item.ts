import { constants, fstatSync, openSync, readFileSync, closeSync } from 'node:fs';
import { SandgateError } from '@sandgate/shared';
import { deriveStoreKeys, fileKeySource, type KeySource, type StoreKeys } from './key-source.ts';
import { openMetadata, type ItemMetadata } from './item-metadata.ts';
import { assertItemId, itemFiles, openStore } from './store-layout.ts';

export interface StoreOptions {
  keySource?: KeySource;
}

export function loadStoreKeys(home: string, opts: StoreOptions = {}): StoreKeys {
  openStore(home);
  try {
    return deriveStoreKeys((opts.keySource ?? fileKeySource(home)).load());
  } catch (err) {
    throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `the quarantine key could not be loaded: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads and authenticates one item's metadata. Missing → QUARANTINE_ITEM_NOT_FOUND; tampered → QUARANTINE_ITEM_CORRUPT. */
export function readItemMetadata(home: string, id: string, keys: StoreKeys): ItemMetadata {
  assertItemId(id);
  const { meta } = itemFiles(home, id);
  let fd: number;
  try {
    fd = openSync(meta, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id}`, { params: { id } });
    throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its metadata cannot be read (${code ?? 'error'})`, { params: { id }, cause: err });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `quarantine item ${id}: its metadata is not a file`, { params: { id } });
    return openMetadata(keys.mac, id, readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}
