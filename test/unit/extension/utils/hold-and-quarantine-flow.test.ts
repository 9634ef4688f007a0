import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { HELD_SUFFIX, PROTOCOL_VERSION, type Job } from '@sandgate/shared';
import { startSandgateBackground, type SandgateBackground } from '../../../../extension/utils/sandgate-background.ts';
import { parseJobs } from '../../../../extension/utils/job-store.ts';
import { JOBS_KEY, QUARANTINE_KEY } from '../../../../extension/utils/storage-keys.ts';
import { FakeNativeMessaging, acceptingAgent, type AgentScript } from '../helpers/fake-native-messaging.ts';
import { FakeDownloads } from '../helpers/fake-downloads.ts';
import { englishTranslate } from '../helpers/translate.ts';

const DL = '/home/ann/Downloads';
const HELD = `${DL}/setup.exe${HELD_SUFFIX}`;
const QID = 'f'.repeat(32);
const running: SandgateBackground[] = [];
beforeEach(() => fakeBrowser.reset());
afterEach(() => {
  for (const bg of running.splice(0)) bg.stop();
});

/** What the popup sends reaches the worker through this listener (fakeBrowser's sendMessage drops the answer). */
let popupListener: ((message: unknown) => Promise<unknown> | undefined) | undefined;

function start(native: FakeNativeMessaging, downloads = new FakeDownloads()) {
  const bg = startSandgateBackground({
    downloads,
    storage: fakeBrowser.storage,
    action: fakeBrowser.action,
    notifications: fakeBrowser.notifications,
    runtime: { onMessage: { addListener: (l) => void (popupListener = l) } },
    connectNative: native.connect,
    lastErrorMessage: native.lastErrorMessage,
    t: englishTranslate(),
    iconUrl: 'icon.png',
    browserName: 'chromium',
    clientName: 'test',
    hostClient: { random: () => 1 },
    warn: () => {},
  });
  running.push(bg);
  return { bg, downloads };
}

const job = (over: Partial<Job>): Job => ({
  jobId: 'job-7',
  state: 'done',
  path: HELD,
  sha256: 'a'.repeat(64),
  size: 68,
  provenance: { source: 'browser', downloadId: 7 },
  acceptedAt: '2026-11-22T09:00:02.000Z',
  finishedAt: '2026-11-22T09:00:03.500Z',
  ...over,
});
const push = (j: Job) => ({ v: PROTOCOL_VERSION, kind: 'event', type: 'job-update', payload: j });
const record = async (id: number) => parseJobs((await fakeBrowser.storage.local.get(JOBS_KEY))[JOBS_KEY]).get(id);

/** An agent that publishes held files as asked, remembering every request. */
const releasing: AgentScript = (r) => {
  if (r.type === 'release-held') return { data: { path: r.payload.path.slice(0, -HELD_SUFFIX.length) } };
  return acceptingAgent(r);
};

describe('a held download, from capture to release', () => {
  it('is captured under its held name, shown under its own, and published through the agent after a clean verdict', async () => {
    const native = new FakeNativeMessaging(releasing);
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: HELD });
    await bg.idle();
    expect(await record(7)).toMatchObject({ hold: 'held', fileName: 'setup.exe', path: HELD, submitted: true });

    native.current!.deliver(push(job({ verdict: { level: 'clean', server: 'https://lab:8443' } })));
    await bg.idle();
    const releases = native.allRequests().filter((r) => r.type === 'release-held');
    // The job id lets the agent follow the file if it was ever released before its verdict.
    expect(releases.map((r) => r.payload)).toEqual([{ path: HELD, sha256: 'a'.repeat(64), jobId: 'job-7' }]);
    expect(await record(7)).toMatchObject({ hold: 'released', path: `${DL}/setup.exe`, state: 'clean', durationMs: 1500 });
  });

  it('a malicious verdict is never released; the agent quarantines it from its held name', async () => {
    const native = new FakeNativeMessaging(releasing);
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: HELD });
    await bg.idle();
    native.current!.deliver(
      push(
        job({
          verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://lab:8443' },
          actions: [{ type: 'quarantine', status: 'done', id: QID }],
        }),
      ),
    );
    await bg.idle();
    expect(native.allRequests().some((r) => r.type === 'release-held')).toBe(false);
    expect(await record(7)).toMatchObject({ hold: 'held', state: 'malicious', quarantineId: QID });
  });

  it('a malicious verdict the administrator listed as a known false positive is released like a clean one', async () => {
    const native = new FakeNativeMessaging(releasing);
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: HELD });
    await bg.idle();
    const skipped = { type: 'quarantine' as const, status: 'skipped' as const, code: 'ALLOWED_FALSE_POSITIVE' };
    native.current!.deliver(
      push(job({ verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://lab:8443' }, actions: [skipped] })),
    );
    await bg.idle();
    expect(native.allRequests().filter((r) => r.type === 'release-held')).toHaveLength(1);
    expect(await record(7)).toMatchObject({ hold: 'released', path: `${DL}/setup.exe`, state: 'malicious' });
  });

  it('a malicious verdict whose quarantine was skipped for another reason stays held', async () => {
    const native = new FakeNativeMessaging(releasing);
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: HELD });
    await bg.idle();
    const skipped = { type: 'quarantine' as const, status: 'skipped' as const, code: 'ORIGINAL_CHANGED' };
    native.current!.deliver(
      push(job({ verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://lab:8443' }, actions: [skipped] })),
    );
    await bg.idle();
    expect(native.allRequests().some((r) => r.type === 'release-held')).toBe(false);
    expect(await record(7)).toMatchObject({ hold: 'held', state: 'malicious' });
  });

  it('a verdict that arrived while the worker was gone is found on the next connection, and the download released', async () => {
    let agentJobs: Job[] = [];
    const native = new FakeNativeMessaging((r) => (r.type === 'list-jobs' ? { data: { jobs: agentJobs } } : releasing(r)));
    const first = start(native);
    await first.bg.idle();
    first.downloads.complete({ id: 7, filename: HELD });
    await first.bg.idle();
    first.bg.stop();
    // The verdict comes while no worker listens.
    agentJobs = [job({ verdict: { level: 'clean', server: 'https://lab:8443' } })];
    const second = start(native);
    await second.bg.idle();
    await new Promise((r) => setTimeout(r, 0));
    await second.bg.idle();
    expect(await record(7)).toMatchObject({ hold: 'released', state: 'clean' });
  });

  it('with onUnavailable "release", a held download is released unjudged when the agent reports no reachable server', async () => {
    await fakeBrowser.storage.managed.set({ capture: { pendingVerdict: { byExtension: { exe: 'hold' }, onUnavailable: 'release' } } });
    const native = new FakeNativeMessaging(releasing);
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: HELD });
    await bg.idle();
    native.current!.deliver({
      v: PROTOCOL_VERSION,
      kind: 'event',
      type: 'agent-status',
      payload: { serversReachable: false, queueFull: false },
    });
    await bg.idle();
    expect(await record(7)).toMatchObject({ hold: 'released-unjudged', path: `${DL}/setup.exe` });
  });

  it('a release the agent refuses for good leaves the file held and says so', async () => {
    const native = new FakeNativeMessaging((r) =>
      r.type === 'release-held' ? { error: { code: 'ORIGINAL_CHANGED', message: 'changed', retryable: false } } : acceptingAgent(r),
    );
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: HELD });
    await bg.idle();
    native.current!.deliver(push(job({ verdict: { level: 'clean', server: 'https://lab:8443' } })));
    await bg.idle();
    expect(await record(7)).toMatchObject({ hold: 'release-failed', path: HELD, error: { code: 'ORIGINAL_CHANGED' } });
  });
});

describe('the quarantine view', () => {
  const item = {
    id: QID,
    originalPath: `${DL}/eicar.com`,
    sha256: 'a'.repeat(64),
    size: 68,
    threat: 'EICAR-Test-File',
    level: 'malicious',
    quarantinedAt: '2026-11-22T09:00:04.000Z',
    downloadId: 7,
    browser: 'chromium',
  };

  it('lists only this browser family, and a restore the policy does not allow is passed to an administrator', async () => {
    const native = new FakeNativeMessaging((r) => {
      if (r.type === 'list-quarantine') return { data: { items: [item], usersMayRestore: false } };
      if (r.type === 'restore-quarantined') return { data: { outcome: 'requested' } };
      return acceptingAgent(r);
    });
    const { bg, downloads } = start(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: `${DL}/eicar.com` });
    await bg.idle();
    native.current!.deliver(
      push(
        job({
          path: `${DL}/eicar.com`,
          verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://lab:8443' },
          actions: [{ type: 'quarantine', status: 'done', id: QID }],
        }),
      ),
    );
    await bg.idle();
    expect(native.allRequests().find((r) => r.type === 'list-quarantine')?.payload).toEqual({ browser: 'chromium', limit: 50 });
    expect((await fakeBrowser.storage.local.get(QUARANTINE_KEY))[QUARANTINE_KEY]).toMatchObject({
      items: [{ id: QID }],
      usersMayRestore: false,
      requested: [],
    });

    const answer = await popupListener!({ type: 'sandgate.restore', quarantineId: QID });
    await bg.idle();
    expect(answer).toEqual({ outcome: 'requested' });
    expect(await record(7)).toMatchObject({ restore: { outcome: 'requested' } });
    expect((await fakeBrowser.storage.local.get(QUARANTINE_KEY))[QUARANTINE_KEY]).toMatchObject({ requested: [QID] });
  });
});
