import { existsSync, readdirSync } from 'node:fs';
import type { ItemMetadata } from './item-metadata.ts';
import { loadStoreKeys, readItemMetadata } from './read-item.ts';
import { isItemId, storeDir } from './store-layout.ts';

/**
 * The first item whose authenticated metadata satisfies `wanted` (how an interrupted quarantine finds the copy it
 * already made). Items that do not authenticate are not evidence of anything and are passed over; looking never
 * creates the store or its key.
 */
export function findItem(home: string, wanted: (meta: ItemMetadata) => boolean): string | undefined {
  return findItemMetadata(home, wanted)?.id;
}

/** Like findItem, with the item's whole authenticated metadata. */
export function findItemMetadata(home: string, wanted: (meta: ItemMetadata) => boolean): ItemMetadata | undefined {
  if (!existsSync(storeDir(home))) return undefined;
  let keys: ReturnType<typeof loadStoreKeys>;
  try {
    keys = loadStoreKeys(home);
  } catch {
    return undefined;
  }
  for (const name of readdirSync(storeDir(home))) {
    const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isItemId(id)) continue;
    try {
      const meta = readItemMetadata(home, id, keys);
      if (wanted(meta)) return meta;
    } catch {
      // unreadable or tampered
    }
  }
  return undefined;
}
