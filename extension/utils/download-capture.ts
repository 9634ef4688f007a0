import { HELD_SUFFIX, SandgateError, type Provenance, type SubmitResult } from '@sandgate/shared';
import { shouldCapture, type CaptureRules } from './capture-rules.ts';
import { baseName, provenanceFor, type DownloadItemLike } from './download-provenance.ts';
import type { JobRecord } from './job-record.ts';
import type { JobStore } from './job-store.ts';
import type { SubmitDownloadPayload } from './host-client.ts';
import type { LandingHold } from './landing-hold.ts';

/** The slice of `browser.downloads` capture needs. */
export interface DownloadsApiLike {
  onChanged: { addListener(listener: (delta: { id: number; state?: { current?: string } }) => void): void };
  search(query: { id: number } | { state: 'complete'; endedAfter: string; limit: number }): Promise<DownloadItemLike[]>;
}

/**
 * How far back a worker start looks for downloads that completed with no listener registered: while the extension was
 * being installed, updated or reloaded, or its worker crashed. The browser wakes a stopped worker for a download event
 * once a listener is on record, so outside those moments nothing completes unseen. Ten minutes covers a slow update;
 * a download judged already is known to the job store and not sent twice.
 */
export const CATCH_UP_MS = 10 * 60_000;
const CATCH_UP_LIMIT = 200;

/**
 * What capture needs from the host client. `submitDownload` with `hold: true` has the agent hold a download in place
 * (browsers without `onDeterminingFilename`) before it queues it; agents that can say so with the `hold-landed`
 * capability.
 */
export interface SubmitChannel {
  hasCapability(capability: string): boolean;
  submitDownload(payload: SubmitDownloadPayload): Promise<SubmitResult>;
}

/** What the person is told about a hold made after landing: not yet possible, refused, or let out by policy. */
export type LandingHoldNotice = 'pending' | 'hold-failed' | 'released-unjudged';

export interface DownloadCaptureOptions {
  downloads: DownloadsApiLike;
  store: JobStore;
  client: SubmitChannel;
  /** The capture rules in force now (possibly provisional: see `rulesSettled`). */
  rules: () => CaptureRules;
  /** Whether `rules` come from every settings source; a download skipped on provisional rules is judged again by {@link DownloadCapture.recheck}. */
  rulesSettled?: () => boolean;
  /** Browser family for provenance: chromium, chrome, edge, brave, firefox. */
  browserName: string;
  now?: () => Date;
  /**
   * Set where the browser cannot hold a download before it lands (Firefox): whether the agent must hold this one in
   * place. Waits for settled policy when none is known yet.
   */
  landingHold?: (item: { filename: string; mime?: string | undefined }) => Promise<LandingHold>;
  /** Told when a download policy wants held is still openable (hold pending or refused) or was let out unjudged. */
  onHoldNotice?: (record: JobRecord, notice: LandingHoldNotice) => void | Promise<void>;
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
  /** Downloads skipped on provisional rules (enterprise policy not read yet): looked at again once it is. */
  readonly #skippedProvisionally = new Set<number>();
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

  /**
   * Judges the downloads that completed in the last {@link CATCH_UP_MS} and that no completion event reached (a
   * download finishing in the second an extension update takes would otherwise never be judged). Run at worker start,
   * after {@link start}; a download already captured is recognised by the job store and not submitted again.
   */
  async catchUp(): Promise<void> {
    const since = new Date((this.#opts.now?.() ?? new Date()).getTime() - CATCH_UP_MS).toISOString();
    const items = await this.#opts.downloads.search({ state: 'complete', endedAfter: since, limit: CATCH_UP_LIMIT });
    for (const item of items) await this.#onComplete(item.id);
  }

  /** Judges again, on the settled rules, the downloads skipped while the rules were provisional. */
  async recheck(): Promise<void> {
    const ids = [...this.#skippedProvisionally];
    this.#skippedProvisionally.clear();
    for (const id of ids) await this.#onComplete(id);
  }

  /** Sends every captured download the agent has not accepted yet, oldest first. */
  async flush(): Promise<void> {
    const pending = (await this.#opts.store.list()).filter((r) => !r.submitted).reverse();
    for (const record of pending) await this.#submit(record.downloadId);
  }

  async #onComplete(downloadId: number): Promise<void> {
    const [item] = await this.#opts.downloads.search({ id: downloadId });
    if (!item || item.state !== 'complete' || !item.filename || item.exists === false) return;
    // A held download was chosen for capture when it was named (see download-hold.ts); its suffix is no file type.
    const held = item.filename.endsWith(HELD_SUFFIX);
    if (!held && !shouldCapture(this.#opts.rules(), { filename: item.filename, mime: item.mime })) {
      if (this.#opts.rulesSettled && !this.#opts.rulesSettled()) this.#skippedProvisionally.add(downloadId);
      return;
    }
    this.#skippedProvisionally.delete(downloadId);
    const landing = held || !this.#opts.landingHold ? 'allow' : await this.#opts.landingHold(item);

    const now = this.#now();
    const full = provenanceFor(item, this.#opts.browserName, { withUrls: true });
    const stored = item.incognito ? provenanceFor(item, this.#opts.browserName, { withUrls: false }) : full;
    const isNew = await this.#opts.store.update((jobs) => {
      // The same completion can be seen twice (a worker restart while search() was pending): submit once. A download
      // held in place has moved, so its landing path counts too.
      const seen = jobs.get(downloadId);
      if (seen?.path === item.filename || seen?.landedPath === item.filename) return false;
      const record: JobRecord = {
        downloadId,
        path: item.filename,
        fileName: held ? baseName(item.filename).slice(0, -HELD_SUFFIX.length) : baseName(item.filename),
        incognito: item.incognito,
        ...(held
          ? { hold: 'held' as const }
          : landing === 'hold'
            ? { hold: 'pending' as const }
            : landing === 'release-unjudged'
              ? { hold: 'released-unjudged' as const }
              : {}),
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
    if (landing === 'allow') return;
    // The person must know when a file policy wants held can be opened: not held yet, refused, or let out unjudged.
    const after = await this.#opts.store.get(downloadId);
    if (after?.hold === 'pending' || after?.hold === 'hold-failed' || after?.hold === 'released-unjudged')
      await this.#opts.onHoldNotice?.(after, after.hold);
  }

  async #submit(downloadId: number): Promise<void> {
    if (this.#inFlight.has(downloadId) || !this.#opts.client.hasCapability('submit-download')) return;
    // Claimed before the first await: the capture and the on-connect flush of the outbox can both reach here for the
    // same download (a download completing as the port comes up), and both would send it.
    this.#inFlight.add(downloadId);
    try {
      const record = await this.#opts.store.get(downloadId);
      if (!record || record.submitted) return;
      const provenance = this.#privateProvenance.get(downloadId) ?? record.pendingProvenance ?? { source: 'browser' as const, downloadId };
      // A download policy wants held that the browser could not hold: the agent holds it in place, then queues it.
      const hold = record.hold === 'pending';
      if (hold && !this.#opts.client.hasCapability('hold-landed')) {
        await this.#holdRefused(downloadId, { code: 'REQUEST_NOT_ALLOWED', message: 'this agent cannot hold downloads in place' });
      }
      const result = await this.#opts.client.submitDownload({
        path: record.path,
        provenance,
        ...(hold && this.#opts.client.hasCapability('hold-landed') ? { hold: true } : {}),
      });
      await this.#opts.store.update((jobs) => {
        const r = jobs.get(downloadId);
        if (!r) return;
        r.submitted = true;
        r.jobId ??= result.jobId;
        r.sha256 ??= result.sha256;
        if (result.heldPath && r.hold === 'pending') Object.assign(r, { hold: 'held', landedPath: r.path, path: result.heldPath });
        r.updatedAt = this.#now();
        delete r.pendingProvenance;
        delete r.error;
      });
      this.#privateProvenance.delete(downloadId);
    } catch (err) {
      // Retryable failures (agent down, queue full, timeout) stay in the outbox for the next connection. A full queue
      // is the agent's own answer, so the person is told why the download waits (see stateLabel).
      if (err instanceof SandgateError && err.retryable) {
        if (err.code === 'QUEUE_FULL') await this.#noteWaiting(downloadId, err);
        return;
      }
      const code = err instanceof SandgateError ? err.code : 'INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      // A hold the agent refused for good (a second name, another user's file…): the person is told it is not held,
      // and the download is still judged as it is.
      const record = await this.#opts.store.get(downloadId);
      if (record?.hold === 'pending') {
        await this.#holdRefused(downloadId, { code, message });
        this.#inFlight.delete(downloadId);
        await this.#submit(downloadId);
        return;
      }
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

  async #holdRefused(downloadId: number, failure: { code: string; message: string }): Promise<void> {
    await this.#opts.store.update((jobs) => {
      const r = jobs.get(downloadId);
      if (!r || r.hold !== 'pending') return;
      Object.assign(r, { hold: 'hold-failed', error: failure, updatedAt: this.#now() });
    });
  }

  async #noteWaiting(downloadId: number, err: SandgateError): Promise<void> {
    await this.#opts.store.update((jobs) => {
      const r = jobs.get(downloadId);
      if (!r || r.submitted) return;
      r.error = { code: err.code, message: err.message };
      r.updatedAt = this.#now();
    });
  }

  #now(): string {
    return (this.#opts.now?.() ?? new Date()).toISOString();
  }

  #warn(what: string, err: unknown): void {
    (this.#opts.warn ?? ((m: string) => console.warn(`[sandgate] ${m}`)))(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
