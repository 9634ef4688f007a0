import { existsSync, promises as fsp } from 'node:fs';
import { SandgateError } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { EventLog } from '../events/event-log.ts';
import { acquireItemLock } from './item-lock.ts';
import { loadStoreKeys, readItemMetadata, type StoreOptions } from './read-item.ts';
import { assertItemId, itemFiles, openStore } from './store-layout.ts';

export interface DeleteOptions extends StoreOptions {
  events?: EventLog;
  /** Why, when it was not a person's request (storage limits). */
  reason?: string;
}

/**
 * Removes an item for good. Items whose metadata no longer authenticates can be deleted too: that is how an
 * administrator clears a corrupt item.
 */
export async function remove(home: string, id: string, opts: DeleteOptions = {}): Promise<void> {
  assertItemId(id);
  openStore(home);
  const files = itemFiles(home, id);
  if (!existsSync(files.meta) && !existsSync(files.blob)) throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id}`, { params: { id } });
  const release = acquireItemLock(files.lock, id);
  try {
    let described = '';
    let originalPath: string | undefined;
    let sha256: string | undefined;
    try {
      const meta = readItemMetadata(home, id, loadStoreKeys(home, opts));
      originalPath = meta.originalPath;
      sha256 = meta.sha256;
      described = ` (${meta.originalPath}${meta.verdict.threat ? `, ${meta.verdict.threat}` : ''})`;
    } catch (err) {
      if (err instanceof SandgateError && err.code === 'QUARANTINE_ITEM_NOT_FOUND' && !existsSync(files.blob)) throw err;
      described = ' (its metadata did not verify)';
    }
    await Promise.all([files.blob, files.meta].map((f) => fsp.rm(f, { force: true })));
    (opts.events ?? new EventLog(sandgatePaths(home).events)).append({
      type: 'quarantine-deleted',
      quarantineId: id,
      path: originalPath,
      sha256,
      message: `quarantine item ${id}${described} deleted${opts.reason ? `: ${opts.reason}` : ''}`,
    });
  } finally {
    release();
  }
}
