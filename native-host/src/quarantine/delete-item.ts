import { existsSync, promises as fsp } from 'node:fs';
import { SandgateError } from '@sandgate/shared';
import { acquireItemLock } from './item-lock.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { assertItemId } from './store-layout.ts';

export interface DeleteOptions {
  /** Why, when it was not a person's request (storage limits). */
  reason?: string;
}

/**
 * Removes an item for good. Items whose metadata no longer authenticates can be deleted too: that is how an
 * administrator clears a corrupt item.
 */
export async function remove(store: QuarantineStore, id: string, opts: DeleteOptions = {}): Promise<void> {
  assertItemId(id);
  store.ensureDir();
  const files = store.files(id);
  if (!existsSync(files.meta) && !existsSync(files.blob))
    throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id}`, { params: { id } });
  const release = acquireItemLock(files.lock, id);
  try {
    let described = '';
    let originalPath: string | undefined;
    let sha256: string | undefined;
    try {
      const meta = store.readMetadata(id);
      originalPath = meta.originalPath;
      sha256 = meta.sha256;
      described = ` (${meta.originalPath}${meta.verdict.threat ? `, ${meta.verdict.threat}` : ''})`;
    } catch (err) {
      if (err instanceof SandgateError && err.code === 'QUARANTINE_ITEM_NOT_FOUND' && !existsSync(files.blob)) throw err;
      described = ' (its metadata did not verify)';
    }
    await Promise.all([files.blob, files.meta].map((f) => fsp.rm(f, { force: true })));
    store.events.append({
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
