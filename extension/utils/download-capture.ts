import { SandgateError, type Provenance, type SubmitResult } from '@sandgate/shared';
import { shouldCapture, type CaptureRules } from './capture-rules.ts';
import { baseName, provenanceFor, type DownloadItemLike } from './download-provenance.ts';
import type { JobRecord } from './job-record.ts';
import type { JobStore } from './job-store.ts';
import type { SubmitDownloadPayload } from './host-client.ts';

/** The slice of `browser.downloads` capture needs. */
export interface DownloadsApiLike {
  onChanged: { addListener(listener: (delta: { id: number; state?: { current?: string } }) => void): void };
  search(query: { id: number }): Promise<DownloadItemLike[]>;
}

/** What capture needs from the host client. */
export interface SubmitChannel {
  hasCapability(capability: string): boolean;
  submitDownload(payload: SubmitDownloadPayload): Promise<SubmitResult>;
}

export interface DownloadCaptureOptions {
  downloads: DownloadsApiLike;
  store: JobStore;
  client: SubmitChannel;
  rules: () => Promise<CaptureRules>;
  /** Browser family for provenance: chromium, chrome, edge, brave, firefox. */
  browserName: string;
  now?: () => Date;
  /** Receives the promise of each capture, so the worker can tell when it is idle. */
  track?: (work: Promise<unknown>) => void;
  warn?: (message: string) => void;
}

/**
 * Turns completed downloads into `submit-download` requests. A capture is first written to the job store as an
 * unsubmitted record (the outbox), then sent; whatever could not be sent (agent down, worker restarted) is sent by
 * {@link flush} on the next connection. The file name is only known once the download completes, so capture waits
 * for `state: complete` and re-reads the item.
 */
export class DownloadCapture {
  readonly #opts: DownloadCaptureOptions;
  readonly #inFlight = new Set<number>();
  /** Incognito provenance with URLs lives only in memory; storage gets the URL-free copy. */
  readonly #privateProvenance = new Map<number, Provenance>();

  constructor(options: DownloadCaptureOptions) {
    this.#opts = options;
  }

  /** Registers the downloads listener; call synchronously at worker start so no event is missed. */
  start(): void {
    this.#opts.downloads.onChanged.addListener((delta) => {
      if (delta.state?.current !== 'complete') return;
      const work = this.#onComplete(delta.id).catch((err: unknown) => this.#warn('capture failed', err));
      this.#opts.track?.(work);
    });
  }

  /** Sends every captured download the agent has not accepted yet, oldest first. */
  async flush(): Promise<void> {
    const pending = (await this.#opts.store.list()).filter((r) => !r.submitted).reverse();
    for (const record of pending) await this.#submit(record.downloadId);
  }

  async #onComplete(downloadId: number): Promise<void> {
    const [item] = await this.#opts.downloads.search({ id: downloadId });
    if (!item || item.state !== 'complete' || !item.filename || item.exists === false) return;
    const rules = await this.#opts.rules();
    if (!shouldCapture(rules, { filename: item.filename, mime: item.mime })) return;

    const now = this.#now();
    const full = provenanceFor(item, this.#opts.browserName, { withUrls: true });
    const stored = item.incognito ? provenanceFor(item, this.#opts.browserName, { withUrls: false }) : full;
    const isNew = await this.#opts.store.update((jobs) => {
      // The same completion can be seen twice (a worker restart while search() was pending): submit once.
      if (jobs.get(downloadId)?.path === item.filename) return false;
      const record: JobRecord = {
        downloadId,
        path: item.filename,
        fileName: baseName(item.filename),
        incognito: item.incognito,
        state: 'queued',
        submitted: false,
        capturedAt: now,
        updatedAt: now,
        pendingProvenance: stored,
      };
      jobs.set(downloadId, record);
      return true;
    });
    if (!isNew) return;
    if (item.incognito) this.#privateProvenance.set(downloadId, full);
    await this.#submit(downloadId);
  }

  async #submit(downloadId: number): Promise<void> {
    if (this.#inFlight.has(downloadId) || !this.#opts.client.hasCapability('submit-download')) return;
    const record = await this.#opts.store.get(downloadId);
    if (!record || record.submitted) return;
    this.#inFlight.add(downloadId);
    try {
      const provenance = this.#privateProvenance.get(downloadId) ?? record.pendingProvenance ?? { source: 'browser' as const, downloadId };
      const result = await this.#opts.client.submitDownload({ path: record.path, provenance });
      await this.#opts.store.update((jobs) => {
        const r = jobs.get(downloadId);
        if (!r) return;
        r.submitted = true;
        r.jobId ??= result.jobId;
        r.sha256 ??= result.sha256;
        r.updatedAt = this.#now();
        delete r.pendingProvenance;
      });
      this.#privateProvenance.delete(downloadId);
    } catch (err) {
      // Retryable failures (agent down, queue full, timeout) stay in the outbox for the next connection.
      if (err instanceof SandgateError && err.retryable) return;
      const code = err instanceof SandgateError ? err.code : 'INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      await this.#opts.store.update((jobs) => {
        const r = jobs.get(downloadId);
        if (!r) return;
        Object.assign(r, { submitted: true, state: 'error', error: { code, message }, updatedAt: this.#now() });
        delete r.pendingProvenance;
      });
      this.#privateProvenance.delete(downloadId);
    } finally {
      this.#inFlight.delete(downloadId);
    }
  }

  #now(): string {
    return (this.#opts.now?.() ?? new Date()).toISOString();
  }

  #warn(what: string, err: unknown): void {
    (this.#opts.warn ?? ((m: string) => console.warn(`[sandgate] ${m}`)))(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
