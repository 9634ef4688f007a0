import { existsSync, readdirSync } from 'node:fs';
import type { QuarantineListItem } from '@sandgate/shared';
import type { ItemMetadata } from './item-metadata.ts';
import { loadStoreKeys, readItemMetadata, type StoreOptions } from './read-item.ts';
import { assertItemExists, isItemId, openStore, storeDir } from './store-layout.ts';

export interface QuarantineListing {
  items: QuarantineListItem[];
  /** Ids whose metadata failed authentication or could not be read; `show` explains each. */
  corrupt: string[];
}

export function toListItem(m: ItemMetadata): QuarantineListItem {
  return {
    id: m.id,
    originalPath: m.originalPath,
    sha256: m.sha256,
    size: m.size,
    threat: m.verdict.threat,
    level: m.verdict.level,
    server: m.verdict.server,
    quarantinedAt: m.quarantinedAt,
    sourceUrl: m.source.finalUrl ?? m.source.url,
  };
}

/** Every item whose metadata authenticates, oldest first, plus the ids of those that do not. */
export function listItems(home: string, opts: StoreOptions = {}): QuarantineListing {
  // Listing is read-only: a store that was never used is empty, not something to create (with a key) now.
  if (!existsSync(storeDir(home))) return { items: [], corrupt: [] };
  const dir = openStore(home);
  const keys = loadStoreKeys(home, opts);
  const items: QuarantineListItem[] = [];
  const corrupt: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    const id = name.slice(0, -'.json'.length);
    if (!isItemId(id)) continue;
    try {
      items.push(toListItem(readItemMetadata(home, id, keys)));
    } catch {
      corrupt.push(id);
    }
  }
  items.sort((a, b) => a.quarantinedAt.localeCompare(b.quarantinedAt));
  return { items, corrupt };
}

/** The `sandgate quarantine list` view: the items that verify. */
export function list(home: string, opts: StoreOptions = {}): QuarantineListItem[] {
  return listItems(home, opts).items;
}

/** One item's full, authenticated metadata. */
export function show(home: string, id: string, opts: StoreOptions = {}): ItemMetadata {
  assertItemExists(home, id);
  return readItemMetadata(home, id, loadStoreKeys(home, opts));
}
