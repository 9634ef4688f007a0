import { readdirSync } from 'node:fs';
import type { ItemMetadata } from './item-metadata.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { isItemId } from './store-layout.ts';

/**
 * The first item whose authenticated metadata satisfies `wanted` (how an interrupted quarantine finds the copy it
 * already made). Items that do not authenticate are not evidence of anything and are passed over; looking never
 * creates the store or its key.
 */
export function findItemMetadata(store: QuarantineStore, wanted: (meta: ItemMetadata) => boolean): ItemMetadata | undefined {
  if (!store.exists()) return undefined;
  try {
    store.readKeys();
  } catch {
    return undefined;
  }
  for (const name of readdirSync(store.dir)) {
    const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isItemId(id)) continue;
    try {
      const meta = store.readMetadata(id);
      if (wanted(meta)) return meta;
    } catch {
      // unreadable or tampered
    }
  }
  return undefined;
}
