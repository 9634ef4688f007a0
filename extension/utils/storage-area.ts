/** The slice of `storage.StorageArea` the extension modules use; `browser.storage.local` and `fakeBrowser`'s fit. */
export interface StorageAreaLike {
  get(keys: string | string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
}

/** `storage.onChanged`: fires in every extension context (worker and popup) for every area. */
export interface StorageChangedEvent {
  addListener(listener: (changes: Record<string, { newValue?: unknown }>, areaName: string) => void): void;
}
