import { existsSync, readdirSync } from 'node:fs';
import { SandgateError, type BrowserQuarantineItem, type ListQuarantineResult, type RestoreQuarantinedResult } from '@sandgate/shared';
import { EventLog } from '../events/event-log.ts';
import { sandgatePaths } from '../config/paths.ts';
import { toListItem } from '../quarantine/list-items.ts';
import { loadStoreKeys, readItemMetadata, type StoreOptions } from '../quarantine/read-item.ts';
import { restore } from '../quarantine/restore-item.ts';
import { isItemId, storeDir } from '../quarantine/store-layout.ts';

/**
 * The quarantine as a browser may see it: only the items that browser captured, and a restore that is either done
 * (policy `quarantine.usersMayRestore`) or recorded for an administrator. Items that fail authentication are left out:
 * the administrator's `sandgate quarantine list` reports those.
 */
export interface BrowserQuarantineOptions extends StoreOptions {
  home: string;
  usersMayRestore: () => Promise<boolean>;
  events?: EventLog;
  now?: () => Date;
}

export async function listQuarantineForBrowser(
  opts: BrowserQuarantineOptions,
  query: { browser?: string | undefined; limit: number },
): Promise<ListQuarantineResult> {
  const usersMayRestore = await opts.usersMayRestore();
  if (!existsSync(storeDir(opts.home))) return { items: [], usersMayRestore };
  const keys = loadStoreKeys(opts.home, opts);
  const items: BrowserQuarantineItem[] = [];
  for (const name of readdirSync(storeDir(opts.home))) {
    const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isItemId(id)) continue;
    let meta;
    try {
      meta = readItemMetadata(opts.home, id, keys);
    } catch {
      continue;
    }
    if (meta.source.kind !== 'browser' || (query.browser !== undefined && meta.source.browser !== query.browser)) continue;
    items.push({
      ...toListItem(meta),
      reason: meta.reason,
      ...(meta.source.browser ? { browser: meta.source.browser } : {}),
      ...(meta.source.downloadId !== undefined ? { downloadId: meta.source.downloadId } : {}),
    });
  }
  items.sort((a, b) => b.quarantinedAt.localeCompare(a.quarantinedAt));
  return { items: items.slice(0, query.limit), usersMayRestore };
}

export async function restoreForBrowser(opts: BrowserQuarantineOptions, id: string): Promise<RestoreQuarantinedResult> {
  const keys = loadStoreKeys(opts.home, opts);
  // Authenticates the item first: a request about a forged or missing item is refused, never recorded.
  const meta = readItemMetadata(opts.home, id, keys);
  if (meta.source.kind !== 'browser') {
    throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id} from a browser`, { params: { id } });
  }
  const events = opts.events ?? new EventLog(sandgatePaths(opts.home).events);
  if (!(await opts.usersMayRestore())) {
    events.append(
      {
        type: 'restore-requested',
        quarantineId: id,
        path: meta.originalPath,
        sha256: meta.sha256,
        level: meta.verdict.level,
        ...(meta.verdict.threat ? { threat: meta.verdict.threat } : {}),
        message: 'the person asked for a restore from the browser; policy lets only an administrator restore (sandgate quarantine restore ID)',
      },
      opts.now?.() ?? new Date(),
    );
    return { outcome: 'requested' };
  }
  const { path } = await restore(opts.home, id, { events, ...(opts.keySource ? { keySource: opts.keySource } : {}) });
  return { outcome: 'restored', path };
}
