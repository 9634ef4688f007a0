import { readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import {
  SandgateError,
  type BrowserQuarantineItem,
  type ListQuarantineResult,
  type RestoreQuarantinedResult,
  byCodePoint,
} from '@sandgate/shared';
import { toListItem } from '../quarantine/list-items.ts';
import type { QuarantineStore } from '../quarantine/quarantine-store.ts';
import { isItemId } from '../quarantine/store-layout.ts';
import { listAnswers, recordAsk } from '../quarantine/restore-asks.ts';

/**
 * The quarantine as a browser may see it: only the items that browser captured, and a restore that is either done
 * (policy `quarantine.usersMayRestore`) or recorded for an administrator. Items that fail authentication are left out:
 * the administrator's `sandgate quarantine list` reports those.
 */
export interface BrowserQuarantineOptions {
  store: QuarantineStore;
  usersMayRestore: () => Promise<boolean>;
  now?: () => Date;
}

export async function listQuarantineForBrowser(
  opts: BrowserQuarantineOptions,
  query: { browser?: string | undefined; limit: number },
): Promise<ListQuarantineResult> {
  const usersMayRestore = await opts.usersMayRestore();
  const answers = listAnswers(opts.store.home, query.browser).slice(-query.limit);
  if (!opts.store.exists()) return { items: [], usersMayRestore, ...(answers.length ? { answers } : {}) };
  opts.store.readKeys();
  const items: BrowserQuarantineItem[] = [];
  for (const name of readdirSync(opts.store.dir)) {
    const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isItemId(id)) continue;
    let meta;
    try {
      meta = opts.store.readMetadata(id);
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
  items.sort((a, b) => byCodePoint(b.quarantinedAt, a.quarantinedAt));
  return { items: items.slice(0, query.limit), usersMayRestore, ...(answers.length ? { answers } : {}) };
}

export async function restoreForBrowser(opts: BrowserQuarantineOptions, id: string): Promise<RestoreQuarantinedResult> {
  // Authenticates the item first: a request about a forged or missing item is refused, never recorded.
  const meta = opts.store.readMetadata(id);
  if (meta.source.kind !== 'browser') {
    throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id} from a browser`, { params: { id } });
  }
  if (!(await opts.usersMayRestore())) {
    const at = opts.now?.() ?? new Date();
    // Remembered first: the console's answer (issue 17) finds the ask it belongs to, and the popup says it is waiting.
    await recordAsk(opts.store.home, { quarantineId: id, sha256: meta.sha256, browser: meta.source.browser, at });
    opts.store.events.append(
      {
        type: 'restore-requested',
        quarantineId: id,
        path: meta.originalPath,
        sha256: meta.sha256,
        level: meta.verdict.level,
        ...(meta.verdict.threat ? { threat: meta.verdict.threat } : {}),
        ...(accountName() ? { user: accountName() } : {}),
        message:
          'the person asked for a restore from the browser; policy lets only an administrator restore (sandgate quarantine restore ID)',
      },
      at,
    );
    return { outcome: 'requested' };
  }
  const { path } = await opts.store.restore(id);
  return { outcome: 'restored', path };
}

/** The account the agent runs as (a per-user service: the person who asked), for the administrator's inbox. */
function accountName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
