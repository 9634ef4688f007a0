import { HELD_SUFFIX, SandgateError, type Job, type Policy, type Provenance, type SubmitResult } from '@sandgate/shared';
import type { EventLog } from '../events/event-log.ts';
import { holdLanded } from '../hold/hold-landed.ts';
import type { HoldLedger } from '../hold/hold-ledger.ts';
import { withHeldReadable } from '../hold/held-mode.ts';
import { releaseHeld } from '../hold/release-held.ts';
import { confineToDownloads } from './confine-to-downloads.ts';
import { downloadDirs } from './download-dirs.ts';

/** What the browser side needs of the agent. */
export interface BrowserSideAgent {
  submit(path: string, provenance: Provenance): Promise<SubmitResult>;
  getJob(jobId: string): Job | undefined;
  relocate?(jobId: string, fromPath: string, newPath: string): Promise<boolean>;
  /** Whether any sandbox server can be reached now (the unavailable-server rule of `release-held`). */
  anyServerReachable(): boolean;
}

export interface BrowserSideOptions {
  agent: BrowserSideAgent;
  ledger: HoldLedger;
  policy: () => Policy;
  events: () => EventLog;
  /** Test seams for the default download folders. */
  userHome?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export interface BrowserSide {
  submitDownload(
    payload: { path: string; provenance: Provenance; hold?: boolean | undefined },
    caller: string | undefined,
  ): Promise<SubmitResult>;
  releaseHeld(payload: { path: string; sha256: string; jobId: string }, caller: string | undefined): Promise<{ path: string }>;
}

/**
 * The agent as the browser may use it: only files in the download folders, only its own held downloads, released only
 * once judged safe, with the permission bits the agent recorded. Whatever the browser claims about who it is or where
 * a file came from is replaced by what the agent knows (`source: browser`, the caller the native host saw).
 */
export function createBrowserSide(opts: BrowserSideOptions): BrowserSide {
  const dirs = () =>
    downloadDirs({
      policyDirs: opts.policy().capture.downloadDirs,
      ...(opts.userHome ? { userHome: opts.userHome } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  return {
    async submitDownload(payload, caller) {
      await confineToDownloads(payload.path, dirs());
      const { caller: _claimed, ...told } = payload.provenance;
      const provenance: Provenance = { ...told, source: 'browser', ...(caller ? { caller } : {}) };
      if (!payload.hold) return withHeldReadable(payload.path, () => opts.agent.submit(payload.path, provenance));
      const held = await holdLanded(payload.path, { ledger: opts.ledger, caller, ...(opts.now ? { now: opts.now } : {}) });
      if (!held.again) {
        opts
          .events()
          .append(
            { type: 'held-landed', path: held.path, message: `held in place until its verdict (was ${payload.path})` },
            opts.now?.() ?? new Date(),
          );
      }
      const result = await withHeldReadable(held.path, () => opts.agent.submit(held.path, provenance));
      return { ...result, heldPath: held.path };
    },

    async releaseHeld(payload, caller) {
      const job = opts.agent.getJob(payload.jobId);
      if (
        !job ||
        job.provenance.source !== 'browser' ||
        job.provenance.caller !== caller ||
        job.path !== payload.path ||
        !payload.path.endsWith(HELD_SUFFIX)
      ) {
        throw new SandgateError('HOLD_NOT_FOUND', `no download of this browser is held at ${payload.path} for job ${payload.jobId}`, {
          params: { path: payload.path, jobId: payload.jobId },
        });
      }
      if (job.sha256 !== payload.sha256) {
        throw new SandgateError('HOLD_NOT_FOUND', `job ${payload.jobId} judged other content than ${payload.sha256}`, {
          params: { path: payload.path, jobId: payload.jobId },
        });
      }
      await confineToDownloads(payload.path, dirs());
      mayRelease(job, opts.policy(), opts.agent.anyServerReachable());
      const recorded = await opts.ledger.find(payload.path);
      const result = await releaseHeld(payload.path, job.sha256, {
        events: opts.events(),
        ...(recorded ? { mode: recorded.mode } : {}),
        ...(opts.now ? { now: opts.now } : {}),
      });
      opts.ledger.remove(payload.path);
      // Released before its verdict: the job must follow the file, or a malicious verdict finds only the vanished held
      // name. The file is published either way; a relocation that cannot be recorded does not undo the release.
      if (!job.verdict) await opts.agent.relocate?.(job.jobId, payload.path, result.path).catch(() => false);
      return result;
    },
  };
}

/**
 * Clean, or malicious but a known false positive (`response.allowSha256`): the administrator's verdict is "let it
 * through". Not judged yet: only when the agent's own policy says `onUnavailable: release` and no server can be
 * reached, the documented rule; the browser's settings cannot loosen it.
 */
function mayRelease(job: Job, policy: Policy, anyServerReachable: boolean): void {
  if (job.verdict) {
    const level = job.verdict.level;
    if (level === 'clean' || (level === 'malicious' && policy.response.allowSha256.includes(job.sha256))) return;
    throw new SandgateError('RELEASE_NOT_JUDGED', `${job.path} was judged ${level}; it stays held`, { params: { path: job.path, level } });
  }
  if (policy.capture.pendingVerdict?.onUnavailable === 'release' && !anyServerReachable) return;
  throw new SandgateError('RELEASE_NOT_JUDGED', `${job.path} has no verdict yet; it stays held until it has one`, {
    params: { path: job.path },
  });
}
