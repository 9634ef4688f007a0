import type { PushEvent } from '@sandgate/shared';
import { AgentStatusStore } from './agent-status-store.ts';
import { computeBadge, renderBadge, type ActionApiLike } from './badge.ts';
import { CapturePolicySource, type ManagedStorageLike } from './capture-policy-source.ts';
import { DownloadCapture, type DownloadsApiLike } from './download-capture.ts';
import { HostClient, type HostClientOptions } from './host-client.ts';
import type { Translate } from './i18n.ts';
import { THREAT_STATES, type JobRecord } from './job-record.ts';
import { JobStore } from './job-store.ts';
import { applyJobUpdate, findRecordFor } from './job-update.ts';
import type { ConnectNative } from './native-port.ts';
import type { StorageAreaLike, StorageChangedEvent } from './storage-area.ts';
import { JOBS_KEY, THREATS_SEEN_KEY } from './storage-keys.ts';
import { notifyThreat, type NotificationsApiLike } from './threat-notifier.ts';

/** Every browser API the background uses, injected so the whole worker runs against fakes in unit tests. */
export interface BackgroundDeps {
  downloads: DownloadsApiLike;
  storage: { local: StorageAreaLike; managed: ManagedStorageLike; onChanged: StorageChangedEvent };
  action: ActionApiLike;
  notifications: NotificationsApiLike;
  connectNative: ConnectNative;
  lastErrorMessage?: () => string | undefined;
  t: Translate;
  /** Extension URL of the notification icon. */
  iconUrl: string;
  browserName: string;
  clientName: string;
  /** Timeouts and jitter of the native port (tests shorten them). */
  hostClient?: Pick<HostClientOptions, 'requestTimeoutMs' | 'helloTimeoutMs' | 'random'>;
  policyReadTimeoutMs?: number;
  now?: () => Date;
  warn?: (message: string) => void;
}

export interface SandgateBackground {
  client: HostClient;
  capture: DownloadCapture;
  store: JobStore;
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
  const policy = new CapturePolicySource({
    managed: deps.storage.managed,
    onChanged: deps.storage.onChanged,
    warn,
    ...(deps.policyReadTimeoutMs === undefined ? {} : { firstReadTimeoutMs: deps.policyReadTimeoutMs }),
  });
  const client = new HostClient({
    connect: deps.connectNative,
    clientName: deps.clientName,
    warn,
    ...(deps.lastErrorMessage ? { lastErrorMessage: deps.lastErrorMessage } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...deps.hostClient,
  });
  const capture = new DownloadCapture({
    downloads: deps.downloads,
    store,
    client,
    rules: () => policy.rules(),
    browserName: deps.browserName,
    track,
    warn,
    ...(deps.now ? { now: deps.now } : {}),
  });

  const refreshBadge = async (): Promise<void> => {
    const seen = (await deps.storage.local.get(THREATS_SEEN_KEY))[THREATS_SEEN_KEY];
    const badge = computeBadge(await store.list(), typeof seen === 'string' ? seen : undefined, deps.t);
    await renderBadge(deps.action, badge);
  };

  const onJobUpdate = async (event: Extract<PushEvent, { type: 'job-update' }>): Promise<void> => {
    const job = event.payload;
    const toNotify = await store.update((jobs): JobRecord | undefined => {
      const record = findRecordFor(jobs, job);
      if (!record) return undefined;
      applyJobUpdate(record, job, now());
      if (!THREAT_STATES.has(record.state)) return undefined;
      // Notify on the first threat update, and again (same notification id) if the quarantine outcome changes:
      // the agent may push the verdict before its actions have run.
      const outcome = record.actions?.find((a) => a.type === 'quarantine')?.status ?? 'none';
      if (record.notifiedOutcome === outcome || (record.notifiedOutcome !== undefined && outcome === 'none')) return undefined;
      record.notifiedOutcome = outcome;
      return { ...record };
    });
    if (toNotify) await notifyThreat(deps.notifications, deps.t, toNotify, deps.iconUrl);
  };

  const onEvent = (event: PushEvent): void => {
    if (event.type === 'job-update') track(onJobUpdate(event));
    else if (event.type === 'agent-status') track(agentStore.saveAgentReport(event.payload));
  };

  // Listener registration: synchronous, first.
  capture.start();
  client.onEvent(onEvent);
  client.onConnectionChange((connection) => {
    track(agentStore.saveConnection(connection));
    if (connection.state === 'connected') track(capture.flush());
  });
  deps.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && (JOBS_KEY in changes || THREATS_SEEN_KEY in changes)) track(refreshBadge());
  });

  // Then the slow parts, none of which is awaited here.
  policy.load();
  client.start();
  track(refreshBadge());

  return {
    client,
    capture,
    store,
    async idle() {
      while (work.size > 0) await Promise.all([...work]);
    },
    stop: () => client.stop(),
  };
}
