import { SandgateError, releaseHeldResultSchema } from '@sandgate/shared';
import { baseName } from './download-provenance.ts';
import type { HostClient } from './host-client.ts';
import { ACTIVE_STATES, type JobRecord } from './job-record.ts';
import { isAllowedFalsePositive } from './allowed-false-positive.ts';
import type { JobStore } from './job-store.ts';

export interface HeldReleaseDeps {
  client: Pick<HostClient, 'request' | 'hasCapability'>;
  store: JobStore;
  now: () => string;
  /** Told about every release, to notify the person. */
  onReleased?: (record: JobRecord, unjudged: boolean) => void | Promise<void>;
  warn?: (message: string) => void;
}

/**
 * Clean, or malicious but listed by the administrator as a known false positive (the agent acted on nothing): either
 * way the administrator's verdict is "let it through", so a held copy must not stay held for ever.
 */
function judgedSafe(r: JobRecord): boolean {
  return r.state === 'clean' || (r.state === 'malicious' && isAllowedFalsePositive(r));
}

/**
 * Publishes held downloads through the agent: those judged clean or allowed as a known false positive, and, when policy says `onUnavailable: release` and no
 * server is reachable, those still waiting. Everything else stays held: suspicious, unknown and error verdicts keep the
 * held name (the person sees why in the popup), malicious ones are quarantined by the agent from their held name.
 * A release the agent cannot do now (disconnected, timeout) is retried on the next call; {@link releaseDue} is called
 * after every job update, on every connection and on every agent report, so nothing depends on one event arriving.
 */
export class HeldRelease {
  readonly #deps: HeldReleaseDeps;
  readonly #inFlight = new Set<number>();

  constructor(deps: HeldReleaseDeps) {
    this.#deps = deps;
  }

  async releaseDue(opts: { releaseUnjudged: boolean }): Promise<void> {
    // The agent releases only a held download of one of this browser's jobs: without the job id there is nothing to ask.
    const due = (await this.#deps.store.list()).filter(
      (r) =>
        r.hold === 'held' &&
        r.sha256 !== undefined &&
        r.jobId !== undefined &&
        (judgedSafe(r) || (opts.releaseUnjudged && ACTIVE_STATES.has(r.state) && r.submitted)),
    );
    for (const r of due) await this.#release(r, !judgedSafe(r));
  }

  async #release(record: JobRecord, unjudged: boolean): Promise<void> {
    if (this.#inFlight.has(record.downloadId)) return;
    this.#inFlight.add(record.downloadId);
    try {
      let published: string;
      try {
        // The job id names what the agent judged (it checks the verdict itself and lets the file follow when it is
        // released before one); the permission bits come from the agent's own record of the hold, never from here.
        const payload = { path: record.path, sha256: record.sha256, jobId: record.jobId };
        published = (await this.#deps.client.request('release-held', payload, releaseHeldResultSchema)).path;
      } catch (err) {
        if (err instanceof SandgateError && err.retryable) return;
        const e = err instanceof SandgateError ? err : new SandgateError('INTERNAL', String(err));
        await this.#deps.store.update((jobs) => {
          const r = jobs.get(record.downloadId);
          if (!r || r.hold !== 'held') return;
          r.hold = 'release-failed';
          r.error = { code: e.code, message: e.message };
          r.updatedAt = this.#deps.now();
        });
        return;
      }
      const updated = await this.#deps.store.update((jobs) => {
        const r = jobs.get(record.downloadId);
        if (!r || r.hold !== 'held') return undefined;
        r.hold = unjudged ? 'released-unjudged' : 'released';
        r.path = published;
        r.fileName = baseName(published);
        r.updatedAt = this.#deps.now();
        return { ...r };
      });
      if (updated) await this.#deps.onReleased?.(updated, unjudged);
    } finally {
      this.#inFlight.delete(record.downloadId);
    }
  }
}
