import { existsSync } from 'node:fs';
import { SandgateError } from '@sandgate/shared';
import { sandgatePaths } from '../config/paths.ts';
import { EventLog } from '../events/event-log.ts';
import { remove, type DeleteOptions } from './delete-item.ts';
import { enforceQuarantineLimits, type EnforceOptions, type EnforceResult, type QuarantineLimits } from './enforce-limits.ts';
import { exportItem, type ExportOptions, type ExportResult } from './export-item.ts';
import { findItemMetadata } from './find-item.ts';
import { openMetadataFile, type ItemMetadata } from './item-metadata.ts';
import { deriveStoreKeys, type KeySource, type StoreKeys } from './key-source.ts';
import { platformKeySource } from './platform-key-source.ts';
import { listItems, type QuarantineListing } from './list-items.ts';
import { quarantineObject, type QuarantineObjectOptions, type QuarantineRaceHooks } from './quarantine-object.ts';
import { restore, type RestoreOptions, type RestoreRaceHooks } from './restore-item.ts';
import { assertItemId, itemFiles, openStore, storeDir, type ItemFiles } from './store-layout.ts';

export interface QuarantineStoreOptions {
  /** Where the store key comes from; the platform's (platform-key-source.ts) unless given. */
  keySource?: KeySource;
  /** Where the store's own events (restored, deleted, exported) go; the home's event log unless given. */
  events?: EventLog;
}

/**
 * The quarantine of one `$SANDGATE_HOME`, opened once: it knows its folder, loads the store key once and derives the
 * item keys from it once, and every operation (quarantine, list, show, restore, delete, export, limits) goes through
 * it. The folder itself is checked (0700, ours, not a link) at every operation that writes, not only at open: it lives
 * as long as the agent does, and a folder swapped under it must still be refused.
 */
export class QuarantineStore {
  readonly home: string;
  readonly dir: string;
  private readonly keySource: KeySource;
  private eventLog: EventLog | undefined;
  private derived: StoreKeys | undefined;

  private constructor(home: string, opts: QuarantineStoreOptions) {
    this.home = home;
    this.dir = storeDir(home);
    this.keySource = opts.keySource ?? platformKeySource(home);
    this.eventLog = opts.events;
  }

  /** The log of the store's own events; opened when first written, so looking creates nothing. */
  get events(): EventLog {
    this.eventLog ??= new EventLog(sandgatePaths(this.home).events);
    return this.eventLog;
  }

  /** Opening creates nothing: a store that was never used stays absent (and keyless) until something is quarantined. */
  static open(home: string, opts: QuarantineStoreOptions = {}): QuarantineStore {
    return new QuarantineStore(home, opts);
  }

  /** Whether anything was ever quarantined here (read-only operations answer "empty" without creating the store). */
  exists(): boolean {
    return existsSync(this.dir);
  }

  /** The store folder, created 0700 if missing; QUARANTINE_FAILED if it is a link or not a private folder of ours. */
  ensureDir(): string {
    return openStore(this.home);
  }

  /** The item keys, derived once; the key is created on first use. Errors are the key source's own. */
  keys(): StoreKeys {
    this.ensureDir();
    this.derived ??= deriveStoreKeys(this.keySource.load());
    return this.derived;
  }

  /** The keys for reading items: a key that cannot be loaded makes every item unreadable (QUARANTINE_ITEM_CORRUPT). */
  readKeys(): StoreKeys {
    try {
      return this.keys();
    } catch (err) {
      if (err instanceof SandgateError) throw err;
      throw new SandgateError('QUARANTINE_ITEM_CORRUPT', `the quarantine key could not be loaded: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  files(id: string): ItemFiles {
    return itemFiles(this.home, id);
  }

  /** NOT_FOUND for an id that is malformed or has no metadata, checked before any key is loaded or created. */
  assertExists(id: string): void {
    assertItemId(id);
    if (!existsSync(this.files(id).meta))
      throw new SandgateError('QUARANTINE_ITEM_NOT_FOUND', `no quarantine item ${id}`, { params: { id } });
  }

  /** One item's metadata, authenticated. Missing → QUARANTINE_ITEM_NOT_FOUND; tampered → QUARANTINE_ITEM_CORRUPT. */
  readMetadata(id: string): ItemMetadata {
    assertItemId(id);
    return openMetadataFile(this.files(id).meta, this.readKeys().mac, id);
  }

  quarantine(opts: QuarantineObjectOptions, hooks?: QuarantineRaceHooks): Promise<{ id: string }> {
    return quarantineObject(this, opts, hooks);
  }

  listItems(): QuarantineListing {
    return listItems(this);
  }

  /** Every item that verifies (the `sandgate quarantine list` view). */
  list() {
    return listItems(this).items;
  }

  /** One item's full, authenticated metadata. */
  show(id: string): ItemMetadata {
    this.assertExists(id);
    return this.readMetadata(id);
  }

  restore(id: string, opts?: RestoreOptions, hooks?: RestoreRaceHooks): Promise<{ path: string }> {
    return restore(this, id, opts, hooks);
  }

  delete(id: string, opts?: DeleteOptions): Promise<void> {
    return remove(this, id, opts);
  }

  export(id: string, out: string, opts?: ExportOptions): Promise<ExportResult> {
    return exportItem(this, id, out, opts);
  }

  /** The first item whose authenticated metadata satisfies `wanted`; never creates the store or its key. */
  find(wanted: (meta: ItemMetadata) => boolean): ItemMetadata | undefined {
    return findItemMetadata(this, wanted);
  }

  enforceLimits(limits: QuarantineLimits, opts: EnforceOptions): Promise<EnforceResult> {
    return enforceQuarantineLimits(this, limits, opts);
  }
}

export type { ItemMetadata } from './item-metadata.ts';
export type { KeySource } from './key-source.ts';
export { fileKeySource } from './key-source.ts';
