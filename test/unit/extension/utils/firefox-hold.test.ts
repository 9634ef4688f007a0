import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { HELD_SUFFIX, PROTOCOL_VERSION, type Job, type PendingVerdictPolicy } from '@sandgate/shared';
import { buildCaptureRules } from '../../../../extension/utils/capture-rules.ts';
import { landingHoldFor } from '../../../../extension/utils/landing-hold.ts';
import { startSandgateBackground, type SandgateBackground } from '../../../../extension/utils/sandgate-background.ts';
import { computeSettings } from '../../../../extension/utils/settings.ts';
import { parseJobs } from '../../../../extension/utils/job-store.ts';
import { JOBS_KEY } from '../../../../extension/utils/storage-keys.ts';
import { FakeNativeMessaging, acceptingAgent, type AgentScript } from '../helpers/fake-native-messaging.ts';
import { FakeFirefoxDownloads } from '../helpers/fake-downloads.ts';
import { englishTranslate } from '../helpers/translate.ts';

// Issue 7 in Firefox: no onDeterminingFilename, so a download policy holds lands under its own name and the agent
// holds it in place (`submit-download` with `hold`: no permission bits, `.sandgate-hold` name) before it queues it.

const DL = '/home/ann/Downloads';
const EXE = `${DL}/setup.exe`;
const HELD = `${EXE}${HELD_SUFFIX}`;
const HOLD_EXE: PendingVerdictPolicy = { default: 'allow', byExtension: { exe: 'hold' }, onUnavailable: 'keep' };

describe('what happens to a download that lands in a browser that cannot hold it before', () => {
  const decide = (pendingVerdict: PendingVerdictPolicy, filename: string, verdictPossible: boolean) => {
    const s = computeSettings({ pendingVerdict }, undefined);
    return landingHoldFor(s, buildCaptureRules(s), { filename }, verdictPossible);
  };

  it('a type policy holds is held while a verdict can come, and with "keep" even when none can', () => {
    expect(decide(HOLD_EXE, EXE, true)).toBe('hold');
    expect(decide(HOLD_EXE, EXE, false)).toBe('hold');
  });

  it('with "release", a type policy holds is let out unjudged when no verdict can come, and the person is told', () => {
    expect(decide({ ...HOLD_EXE, onUnavailable: 'release' }, EXE, false)).toBe('release-unjudged');
    expect(decide({ ...HOLD_EXE, onUnavailable: 'release' }, EXE, true)).toBe('hold');
  });

  it('a type policy allows, a type not captured at all and an already held name are left alone', () => {
    expect(decide(HOLD_EXE, `${DL}/report.pdf`, true)).toBe('allow');
    expect(decide({ default: 'hold', onUnavailable: 'keep' }, `${DL}/photo.png`, true)).toBe('allow');
    expect(decide({ default: 'hold', onUnavailable: 'keep' }, `${DL}/report.pdf`, true)).toBe('hold');
    expect(decide(HOLD_EXE, HELD, true)).toBe('allow');
  });
});

const running: SandgateBackground[] = [];
beforeEach(() => fakeBrowser.reset());
afterEach(() => {
  for (const bg of running.splice(0)) bg.stop();
});

function start(native: FakeNativeMessaging) {
  const downloads = new FakeFirefoxDownloads();
  const notified: { id: string; title: string; message: string }[] = [];
  const bg = startSandgateBackground({
    downloads,
    storage: fakeBrowser.storage,
    action: fakeBrowser.action,
    notifications: { create: async (id, o) => (notified.push({ id, title: o.title, message: o.message }), id) },
    connectNative: native.connect,
    lastErrorMessage: native.lastErrorMessage,
    t: englishTranslate(),
    iconUrl: 'icon.png',
    browserName: 'firefox',
    clientName: 'test',
    hostClient: { random: () => 1 },
    warn: () => {},
  });
  running.push(bg);
  return { bg, downloads, notified };
}

const record = async (id: number) => parseJobs((await fakeBrowser.storage.local.get(JOBS_KEY))[JOBS_KEY]).get(id);
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

/** An agent that can hold in place, holds what it is asked to, and publishes held files as asked. */
const holding: AgentScript = (r) => {
  if (r.type === 'hello')
    return {
      data: {
        v: PROTOCOL_VERSION,
        appVersion: '0.1.0',
        capabilities: ['submit-download', 'verdict-push', 'status', 'quarantine', 'hold-landed'],
      },
    };
  if (r.type === 'submit-download' && r.payload.hold) {
    return {
      data: {
        jobId: `job-${r.payload.provenance.downloadId}`,
        sha256: 'a'.repeat(64),
        size: 68,
        state: 'queued',
        heldPath: `${r.payload.path}${HELD_SUFFIX}`,
      },
    };
  }
  if (r.type === 'release-held') return { data: { path: r.payload.path.slice(0, -HELD_SUFFIX.length) } };
  return acceptingAgent(r);
};

/** What the extension asked to be queued: path, and whether held first. */
const submissions = (native: FakeNativeMessaging) =>
  native.allRequests().flatMap((r) => (r.type === 'submit-download' ? [[r.payload.path, r.payload.hold === true] as const] : []));

async function connected(bg: SandgateBackground): Promise<void> {
  while (bg.client.connection.state !== 'connected') await new Promise<void>((r) => bg.client.onConnectionChange(() => r()));
  await bg.idle();
}

describe('a download held in place by the agent (Firefox)', () => {
  it('is held by the agent as it is submitted, judged under its held name, and released after a clean verdict', async () => {
    await fakeBrowser.storage.managed.set({ capture: { pendingVerdict: HOLD_EXE } });
    const native = new FakeNativeMessaging(holding);
    const { bg, downloads } = start(native);
    await connected(bg);
    downloads.complete({ id: 7, filename: EXE });
    await bg.idle();
    expect(submissions(native)).toEqual([[EXE, true]]);
    expect(await record(7)).toMatchObject({
      hold: 'held',
      path: HELD,
      landedPath: EXE,
      fileName: 'setup.exe',
      submitted: true,
      jobId: 'job-7',
    });

    native.current!.deliver({
      v: PROTOCOL_VERSION,
      kind: 'event',
      type: 'job-update',
      payload: job({ verdict: { level: 'clean', server: 'https://lab:8443' } }),
    });
    await bg.idle();
    const releases = native.allRequests().filter((r) => r.type === 'release-held');
    // No mode: the agent gives back the bits it recorded when it held the file.
    expect(releases.map((r) => r.payload)).toEqual([{ path: HELD, sha256: 'a'.repeat(64), jobId: 'job-7' }]);
    expect(await record(7)).toMatchObject({ hold: 'released', path: EXE, state: 'clean' });
  });

  it('a completion seen again after the hold (worker restart) is not captured a second time', async () => {
    await fakeBrowser.storage.managed.set({ capture: { pendingVerdict: HOLD_EXE } });
    const native = new FakeNativeMessaging(holding);
    const { bg, downloads } = start(native);
    await connected(bg);
    downloads.complete({ id: 7, filename: EXE });
    await bg.idle();
    downloads.complete({ id: 7, filename: EXE });
    await bg.idle();
    expect(native.allRequests().filter((r) => r.type === 'submit-download')).toHaveLength(1);
  });

  it('with the agent down and "keep", the person is told it is not held yet, and it is held first thing when the agent is back', async () => {
    await fakeBrowser.storage.managed.set({ capture: { pendingVerdict: HOLD_EXE } });
    const native = new FakeNativeMessaging(holding);
    native.notInstalled = true;
    const { bg, downloads, notified } = start(native);
    await bg.idle();
    await bg.settings.whenSettled();
    expect(bg.client.connection.state).toBe('not-installed');
    downloads.complete({ id: 7, filename: EXE });
    await bg.idle();
    expect(await record(7)).toMatchObject({ hold: 'pending', path: EXE, submitted: false });
    expect(notified).toEqual([
      expect.objectContaining({ id: 'sandgate-hold-7', title: 'Download not held yet', message: expect.stringContaining('setup.exe') }),
    ]);

    native.notInstalled = false;
    await connected(bg);
    await bg.idle();
    expect(submissions(native)).toEqual([[EXE, true]]);
    expect(await record(7)).toMatchObject({ hold: 'held', path: HELD, submitted: true });
  });

  it('with "release" and no server reachable, it is not held, is submitted as it is, and the person is told', async () => {
    await fakeBrowser.storage.managed.set({ capture: { pendingVerdict: { ...HOLD_EXE, onUnavailable: 'release' } } });
    const native = new FakeNativeMessaging(holding);
    const { bg, downloads, notified } = start(native);
    await connected(bg);
    native.current!.deliver({
      v: PROTOCOL_VERSION,
      kind: 'event',
      type: 'agent-status',
      payload: { serversReachable: false, queueFull: false },
    });
    await bg.idle();
    downloads.complete({ id: 7, filename: EXE });
    await bg.idle();
    expect(submissions(native)).toEqual([[EXE, false]]);
    expect(await record(7)).toMatchObject({ hold: 'released-unjudged', path: EXE });
    expect(notified.map((n) => n.title)).toEqual(['Download released without a verdict']);
  });

  it("a hold the agent refuses for good (not the person's file) is recorded, told, and the download still judged", async () => {
    await fakeBrowser.storage.managed.set({ capture: { pendingVerdict: HOLD_EXE } });
    const native = new FakeNativeMessaging((r) =>
      r.type === 'submit-download' && r.payload.hold
        ? { error: { code: 'FILE_NOT_OWNED', message: 'The file belongs to another user', retryable: false } }
        : holding(r),
    );
    const { bg, downloads, notified } = start(native);
    await connected(bg);
    downloads.complete({ id: 7, filename: EXE });
    await bg.idle();
    expect(submissions(native)).toEqual([
      [EXE, true],
      [EXE, false],
    ]);
    expect(await record(7)).toMatchObject({ hold: 'hold-failed', path: EXE, submitted: true });
    expect(notified.map((n) => n.title)).toEqual(['Download could not be held']);
  });
});
