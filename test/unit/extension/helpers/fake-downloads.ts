import type { DownloadsApiLike } from '../../../../extension/utils/download-capture.ts';
import type { DeterminingFilenameEvent } from '../../../../extension/utils/download-hold.ts';
import type { DownloadItemLike } from '../../../../extension/utils/download-provenance.ts';

type Delta = { id: number; state?: { previous?: string; current?: string } };

/**
 * `browser.downloads` as Chromium behaves on Linux: the item exists from creation with an empty file name; the name
 * and the final state arrive in later `onChanged` deltas. (fakeBrowser leaves downloads unimplemented.)
 */
export class FakeDownloads implements DownloadsApiLike {
  readonly items = new Map<number, DownloadItemLike>();
  readonly #listeners: ((delta: Delta) => void)[] = [];
  readonly onChanged = { addListener: (l: (delta: Delta) => void) => void this.#listeners.push(l) };

  /** Chromium has the naming hook (the worker holds through it); these fakes never call it: names are as given. */
  readonly onDeterminingFilename: DeterminingFilenameEvent | undefined = { addListener: () => {} };

  get listenerCount(): number {
    return this.#listeners.length;
  }

  async search(query: { id: number } | { state: 'complete'; endedAfter: string; limit: number }): Promise<DownloadItemLike[]> {
    if ('id' in query) {
      const item = this.items.get(query.id);
      return item ? [{ ...item }] : [];
    }
    return [...this.items.values()]
      .filter((i) => i.state === query.state && i.endTime !== undefined && i.endTime > query.endedAfter)
      .slice(0, query.limit)
      .map((i) => ({ ...i }));
  }

  /** A download that completed while no listener was registered (the extension was being installed or updated). */
  completedUnseen(item: Partial<DownloadItemLike> & { id: number; filename: string }): void {
    this.items.set(item.id, completed(item));
  }

  /** A download that starts and completes, with the events Chromium fires. */
  complete(item: Partial<DownloadItemLike> & { id: number; filename: string }): void {
    const full = completed(item);
    this.items.set(item.id, { ...full, filename: '', state: 'in_progress' });
    this.#fire({ id: item.id });
    this.items.set(item.id, full);
    this.#fire({ id: item.id, state: { previous: 'in_progress', current: 'complete' } });
  }

  #fire(delta: Delta): void {
    for (const l of this.#listeners) l(delta);
  }
}

/** A completed download item as the browser reports it, from the fields a test cares about. */
function completed(item: Partial<DownloadItemLike> & { id: number; filename: string }): DownloadItemLike {
  return {
    url: `https://downloads.example.org/${encodeURIComponent(item.filename.split('/').pop() ?? '')}`,
    startTime: '2026-11-22T09:00:00.000Z',
    endTime: '2026-11-22T09:00:01.000Z',
    incognito: false,
    state: 'complete',
    exists: true,
    ...item,
  };
}

/** `browser.downloads` as Firefox has it: no `onDeterminingFilename`, so a held type is held by the agent once it lands. */
export class FakeFirefoxDownloads extends FakeDownloads {
  override readonly onDeterminingFilename = undefined;
}
