import { listJobsResultSchema, type PushEvent } from '@sandgate/shared';
import { AgentStatusStore } from './agent-status-store.ts';
import { computeBadge, renderBadge, type ActionApiLike } from './badge.ts';
import { CapturePolicySource, type ManagedStorageLike } from './capture-policy-source.ts';
import { buildCaptureRules } from './capture-rules.ts';
import { DownloadCapture, type DownloadsApiLike } from './download-capture.ts';
import { startDownloadHold, type DeterminingFilenameEvent } from './download-hold.ts';
import { landingHoldFor } from './landing-hold.ts';
import { HeldRelease } from './held-release.ts';
import { HostClient, type HostClientOptions } from './host-client.ts';
import type { Translate } from './i18n.ts';
import { IdleReporter, type IdleApiLike } from './idle-reporter.ts';
import { ACTIVE_STATES, THREAT_STATES, type JobRecord } from './job-record.ts';
import { JobStore } from './job-store.ts';
import { applyJobUpdate, findRecordFor } from './job-update.ts';
import type { ConnectNative } from './native-port.ts';
import { popupMessageSchema } from './popup-messages.ts';
import { refreshQuarantine, requestRestore, type QuarantineDeps } from './quarantine-view.ts';
import type { EffectiveSettings } from './settings.ts';
import type { StorageAreaLike, StorageChangedEvent } from './storage-area.ts';
import { JOBS_KEY, THREATS_SEEN_KEY } from './storage-keys.ts';
import { notifyNotice, notifyThreat, type NotificationsApiLike } from './threat-notifier.ts';

/** `runtime.onMessage` as the polyfill gives it: a listener may answer with a promise. */
export interface RuntimeMessageEvent {
  addListener(listener: (message: unknown) => Promise<unknown> | undefined): void;
}

/** Every browser API the background uses, injected so the whole worker runs against fakes in unit tests. */
export interface BackgroundDeps {
  downloads: DownloadsApiLike & { onDeterminingFilename?: DeterminingFilenameEvent | undefined };
  storage: { local: StorageAreaLike; managed: ManagedStorageLike; onChanged: StorageChangedEvent };
  action: ActionApiLike;
  notifications: NotificationsApiLike;
  connectNative: ConnectNative;
  /** `browser.idle`, to tell the agent when the screen is locked; absent in tests that need none. */
  idle?: IdleApiLike;
  /** Messages from the popup; absent in tests that need none. */
  runtime?: { onMessage: RuntimeMessageEvent };
  lastErrorMessage?: () => string | undefined;
  t: Translate;
  /** Extension URL of the notification icon. */
  iconUrl: string;
  browserName: string;
  clientName: string;
  /** Timeouts and jitter of the native port (tests shorten them). */
  hostClient?: Pick<HostClientOptions, 'requestTimeoutMs' | 'helloTimeoutMs' | 'random'>;
  /** Longest managed storage may take before policy counts as absent (10 s). Nothing waits on it meanwhile. */
  policyReadTimeoutMs?: number;
  now?: () => Date;
  warn?: (message: string) => void;
}

export interface SandgateBackground {
  client: HostClient;
  capture: DownloadCapture;
  store: JobStore;
  settings: CapturePolicySource;
  /** Resolves once every capture, job update and badge refresh started so far has finished. */
  idle(): Promise<void>;
  stop(): void;
}

/**
 * Wires the worker. Listeners are registered before anything is awaited: an MV3 worker woken by a download only
 * receives the event if its listener exists by the end of the first turn.
 */
export function startSandgateBackground(deps: BackgroundDeps): SandgateBackground {
  const warn = deps.warn ?? ((m: string) => console.warn(`[sandgate] ${m}`));
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const work = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    const guarded = p.catch((err: unknown) => warn(err instanceof Error ? err.message : String(err)));
    work.add(guarded);
    void guarded.finally(() => work.delete(guarded));
  };

  const store = new JobStore(deps.storage.local);
  const agentStore = new AgentStatusStore(deps.storage.local);
  const settings = new CapturePolicySource({
    managed: deps.storage.managed,
    local: deps.storage.local,
    onChanged: deps.storage.onChanged,
    warn,
    ...(deps.policyReadTimeoutMs === undefined ? {} : { managedTimeoutMs: deps.policyReadTimeoutMs }),
  });
  const client = new HostClient({
    connect: deps.connectNative,
    clientName: deps.clientName,
    warn,
    ...(deps.lastErrorMessage ? { lastErrorMessage: deps.lastErrorMessage } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...deps.hostClient,
  });
  /** The agent's last `agent-status` on this connection (module state: rebuilt from the next push after a restart). */
  let lastReport: { serversReachable: boolean; queueFull: boolean } | undefined;
  const verdictPossible = (): boolean => {
    const state = client.connection.state;
    if (state === 'connected') return lastReport?.serversReachable !== false;
    // Not known yet at worker start: assume it may come rather than let a held type out unjudged.
    return state === 'connecting';
  };
  const notify = (what: () => Promise<void>): Promise<void> => (settings.current().notifications ? what() : Promise.resolve());
  const withRules = (s: EffectiveSettings) => ({
    settings: s,
    rules: buildCaptureRules({ fileExtensions: s.fileExtensions, mimeTypes: s.mimeTypes }),
  });
  /** Where the download cannot be named before it lands (Firefox), the agent holds it in place once it has landed. */
  const holdsBeforeLanding = deps.downloads.onDeterminingFilename !== undefined;
  const capture = new DownloadCapture({
    downloads: deps.downloads,
    store,
    client,
    rules: () => settings.rules(),
    rulesSettled: () => settings.settled,
    browserName: deps.browserName,
    track,
    warn,
    ...(deps.now ? { now: deps.now } : {}),
    ...(holdsBeforeLanding
      ? {}
      : {
          landingHold: async (item: { filename: string; mime?: string | undefined }) => {
            // A first run with no policy read yet waits for it rather than let a type the administrator holds out.
            const s = settings.known ? withRules(settings.current()) : withRules(await settings.whenSettled());
            return landingHoldFor(s.settings, s.rules, item, verdictPossible());
          },
          onHoldNotice: (record: JobRecord, notice: 'pending' | 'hold-failed' | 'released-unjudged') => {
            const [title, body] =
              notice === 'pending'
                ? (['notifyHoldPendingTitle', 'notifyHoldPending'] as const)
                : notice === 'hold-failed'
                  ? (['notifyHoldFailedTitle', 'notifyHoldFailed'] as const)
                  : (['notifyReleasedUnjudgedTitle', 'notifyReleasedUnjudged'] as const);
            return notify(() =>
              notifyNotice(
                deps.notifications,
                `sandgate-hold-${record.downloadId}`,
                { title: deps.t(title), message: deps.t(body, [record.fileName]) },
                deps.iconUrl,
              ),
            );
          },
        }),
  });
  const quarantineDeps: QuarantineDeps = { client, local: deps.storage.local, store, browserName: deps.browserName, now };
  const held = new HeldRelease({
    client,
    store,
    now,
    warn,
    onReleased: (record, unjudged) =>
      notify(() =>
        notifyNotice(
          deps.notifications,
          `sandgate-released-${record.downloadId}`,
          {
            title: deps.t(unjudged ? 'notifyReleasedUnjudgedTitle' : 'notifyReleasedTitle'),
            message: deps.t(unjudged ? 'notifyReleasedUnjudged' : 'notifyReleased', [record.fileName]),
          },
          deps.iconUrl,
        ),
      ),
  });
  const releaseUnjudged = (): boolean =>
    settings.current().pendingVerdict.onUnavailable === 'release' &&
    client.connection.state === 'connected' &&
    lastReport?.serversReachable === false;
  const releaseDue = (): Promise<void> => held.releaseDue({ releaseUnjudged: releaseUnjudged() });

  const refreshBadge = async (): Promise<void> => {
    const seen = (await deps.storage.local.get(THREATS_SEEN_KEY))[THREATS_SEEN_KEY];
    const badge = computeBadge(await store.list(), typeof seen === 'string' ? seen : undefined, deps.t);
    await renderBadge(deps.action, badge);
  };

  /** Folds jobs into their records; returns the records that need a threat notification. */
  const foldJobs = async (
    jobList: readonly Extract<PushEvent, { type: 'job-update' }>['payload'][],
    onlyStale: boolean,
  ): Promise<JobRecord[]> =>
    store.update((jobs): JobRecord[] => {
      const toNotify: JobRecord[] = [];
      for (const job of jobList) {
        const record = findRecordFor(jobs, job);
        if (!record) continue;
        // A reconciliation only fills in what a restart made us miss; it never rewinds a record.
        // A record showing a verdict whose job had not finished (`settled: false`) still waits for its actions' outcome.
        if (onlyStale && !(ACTIVE_STATES.has(record.state) || record.jobId === undefined || record.settled === false)) continue;
        applyJobUpdate(record, job, now());
        if (!THREAT_STATES.has(record.state)) continue;
        // Notify on the first threat update, and again (same notification id) if the quarantine outcome changes:
        // the agent may push the verdict before its actions have run.
        const outcome = record.actions?.find((a) => a.type === 'quarantine')?.status ?? 'none';
        if (record.notifiedOutcome === outcome || (record.notifiedOutcome !== undefined && outcome === 'none')) continue;
        record.notifiedOutcome = outcome;
        toNotify.push({ ...record });
      }
      return toNotify;
    });

  const afterJobs = async (toNotify: JobRecord[]): Promise<void> => {
    for (const record of toNotify) await notify(() => notifyThreat(deps.notifications, deps.t, record, deps.iconUrl));
    if (toNotify.some((r) => r.quarantineId !== undefined)) await refreshQuarantine(quarantineDeps).catch(() => undefined);
    await releaseDue();
  };

  /**
   * After a worker, browser or agent restart, pushes may have been missed: the agent's job list fills them in. Without
   * it a verdict that arrived while no port was open would never reach the record (or release its held download).
   */
  const reconcile = async (): Promise<void> => {
    const { jobs } = await client.request('list-jobs', { limit: 200 }, listJobsResultSchema);
    await afterJobs(await foldJobs(jobs, true));
    await refreshQuarantine(quarantineDeps);
  };

  const onEvent = (event: PushEvent): void => {
    if (event.type === 'job-update') track(foldJobs([event.payload], false).then(afterJobs));
    else if (event.type === 'agent-status') {
      lastReport = event.payload;
      track(agentStore.saveAgentReport(event.payload));
      // Room in the queue again: what it refused (QUEUE_FULL) is sent now, not at the next reconnect.
      if (!event.payload.queueFull) track(capture.flush());
      track(releaseDue());
    }
  };

  // Listener registration: synchronous, first.
  capture.start();
  // Then what completed while no listener was on record (install, update, reload).
  track(capture.catchUp().catch((err: unknown) => warn(`catch-up failed: ${err instanceof Error ? err.message : String(err)}`)));
  if (deps.downloads.onDeterminingFilename) {
    startDownloadHold({
      event: deps.downloads.onDeterminingFilename,
      settings: () => ({ ...withRules(settings.current()), known: settings.known }),
      whenSettled: async () => withRules(await settings.whenSettled()),
      verdictPossible,
      warn,
    });
  }
  client.onEvent(onEvent);
  client.onConnectionChange((connection) => {
    if (connection.state !== 'connected') lastReport = undefined;
    track(agentStore.saveConnection(connection));
    if (connection.state === 'connected') {
      track(capture.flush());
      track(reconcile());
    }
  });
  deps.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && (JOBS_KEY in changes || THREATS_SEEN_KEY in changes)) track(refreshBadge());
  });
  settings.onSettled(() => track(capture.recheck()));
  deps.runtime?.onMessage.addListener((raw) => {
    const message = popupMessageSchema.safeParse(raw);
    if (!message.success) return undefined;
    if (message.data.type === 'sandgate.refresh-quarantine') {
      const p = refreshQuarantine(quarantineDeps).then(
        () => ({ ok: true }),
        () => ({ ok: false }),
      );
      track(p);
      return p;
    }
    const quarantineId = message.data.quarantineId;
    const answer = requestRestore(quarantineDeps, quarantineId).then(async (a) => {
      const key =
        a.outcome === 'restored' ? 'notifyRestored' : a.outcome === 'requested' ? 'notifyRestoreRequested' : 'notifyRestoreFailed';
      const record = (await store.list()).find((r) => r.quarantineId === quarantineId);
      const name = record?.fileName ?? quarantineId;
      await notify(() =>
        notifyNotice(
          deps.notifications,
          `sandgate-restore-${quarantineId}`,
          { title: deps.t('notifyRestoreTitle'), message: deps.t(key, [name]) },
          deps.iconUrl,
        ),
      ).catch(() => undefined);
      return a;
    });
    track(answer);
    return answer;
  });

  const idleReporter = deps.idle ? new IdleReporter({ idle: deps.idle, client, track, warn }) : undefined;
  idleReporter?.start();

  // Then the slow parts, none of which is awaited here.
  settings.load();
  client.start();
  track(refreshBadge());

  return {
    client,
    capture,
    store,
    settings,
    async idle() {
      while (work.size > 0) await Promise.all([...work]);
    },
    stop: () => {
      idleReporter?.stop();
      client.stop();
    },
  };
}
