import { readdirSync } from 'node:fs';
import type { QuarantineListItem } from '@sandgate/shared';
import type { ItemMetadata } from './item-metadata.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { isItemId } from './store-layout.ts';
import { byCodePoint } from '@sandgate/shared';

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
export function listItems(store: QuarantineStore): QuarantineListing {
  // Listing is read-only: a store that was never used is empty, not something to create (with a key) now.
  if (!store.exists()) return { items: [], corrupt: [] };
  const dir = store.ensureDir();
  store.readKeys();
  const items: QuarantineListItem[] = [];
  const corrupt: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    const id = name.slice(0, -'.json'.length);
    if (!isItemId(id)) continue;
    try {
      items.push(toListItem(store.readMetadata(id)));
    } catch {
      corrupt.push(id);
    }
  }
  items.sort((a, b) => byCodePoint(a.quarantinedAt, b.quarantinedAt));
  return { items, corrupt };
}
