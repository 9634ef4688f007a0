import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { MAX_URL_CHARS, PROTOCOL_VERSION, type Job } from '@sandgate/shared';
import { startSandgateBackground, type SandgateBackground } from '../../../../extension/utils/sandgate-background.ts';
import { parseJobs } from '../../../../extension/utils/job-store.ts';
import { AGENT_KEY, JOBS_KEY, SETTINGS_KEY, THREATS_SEEN_KEY } from '../../../../extension/utils/storage-keys.ts';
import { computeSettings } from '../../../../extension/utils/settings.ts';
import { BADGE_NEUTRAL_COLOR, BADGE_THREAT_COLOR } from '../../../../extension/utils/badge.ts';
import { threatNotificationId } from '../../../../extension/utils/threat-notifier.ts';
import { FakeNativeMessaging, acceptingAgent } from '../helpers/fake-native-messaging.ts';
import { FakeDownloads } from '../helpers/fake-downloads.ts';
import { englishTranslate } from '../helpers/translate.ts';

const DL = '/home/ann/Downloads';
const running: SandgateBackground[] = [];

/** One service-worker lifetime: fresh module instances over the same (fake) browser storage. */
function startWorker(native: FakeNativeMessaging, downloads = new FakeDownloads()) {
  const bg = startSandgateBackground({
    downloads,
    storage: fakeBrowser.storage,
    action: fakeBrowser.action,
    notifications: fakeBrowser.notifications,
    connectNative: native.connect,
    lastErrorMessage: native.lastErrorMessage,
    t: englishTranslate(),
    iconUrl: 'chrome-extension://test/icon/128.png',
    browserName: 'chromium',
    clientName: 'sandgate-extension/test chromium',
    hostClient: { random: () => 1 },
    warn: () => {},
  });
  running.push(bg);
  return { bg, downloads };
}

async function storedJobs() {
  return parseJobs((await fakeBrowser.storage.local.get(JOBS_KEY))[JOBS_KEY]);
}

function submits(native: FakeNativeMessaging) {
  return native.allRequests().filter((r) => r.type === 'submit-download');
}

function jobUpdate(job: Partial<Job> & Pick<Job, 'jobId' | 'state' | 'path'>, downloadId: number) {
  return {
    v: PROTOCOL_VERSION,
    kind: 'event',
    type: 'job-update',
    payload: {
      sha256: 'a'.repeat(64),
      size: 68,
      provenance: { source: 'browser', downloadId, url: 'https://evil.example/x' },
      acceptedAt: '2026-11-22T09:00:02.000Z',
      ...job,
    },
  };
}

describe('background: capture and submission', () => {
  beforeEach(() => fakeBrowser.reset());
  afterEach(() => {
    for (const bg of running.splice(0)) bg.stop();
  });

  it('a completed .exe download produces exactly one submit-download with the right provenance, a .png none', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { bg, downloads } = startWorker(native);
    await bg.idle();
    downloads.complete({
      id: 12,
      filename: `${DL}/setup.exe`,
      url: 'https://example.org/dl/setup',
      finalUrl: 'https://cdn.example.org/files/setup.exe',
      referrer: 'https://example.org/',
      mime: 'application/x-ms-dos-executable',
    });
    downloads.complete({ id: 13, filename: `${DL}/photo.png`, mime: 'image/png' });
    await bg.idle();

    const sent = submits(native);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.payload).toEqual({
      path: `${DL}/setup.exe`,
      provenance: {
        source: 'browser',
        browser: 'chromium',
        downloadId: 12,
        url: 'https://example.org/dl/setup',
        finalUrl: 'https://cdn.example.org/files/setup.exe',
        referrer: 'https://example.org/',
        mime: 'application/x-ms-dos-executable',
        startTime: '2026-11-22T09:00:00.000Z',
        endTime: '2026-11-22T09:00:01.000Z',
      },
    });
    const jobs = await storedJobs();
    expect([...jobs.keys()]).toEqual([12]);
    expect(jobs.get(12)).toMatchObject({ state: 'queued', submitted: true, jobId: 'job-12', fileName: 'setup.exe' });
    // once accepted, the stored record keeps no URL
    expect(JSON.stringify(jobs.get(12))).not.toContain('example.org');
    expect(await fakeBrowser.action.getBadgeText({})).toBe('1');
  });

  it('a download that completed before the port was up is submitted once the agent connects', async () => {
    const native = new FakeNativeMessaging(undefined); // the host never answers hello yet
    const { bg, downloads } = startWorker(native);
    downloads.complete({ id: 3, filename: `${DL}/invoice.pdf`, mime: 'application/pdf' });
    await bg.idle();
    expect(submits(native)).toHaveLength(0);
    expect((await storedJobs()).get(3)).toMatchObject({ state: 'queued', submitted: false });

    // the host exits; the next connection finds a working agent
    native.script = acceptingAgent;
    native.current!.closeFromHost('Native host has exited.');
    await bg.idle();
    expect(bg.client.connection.state).toBe('not-running');
    // the reconnect timer (1 s) is real here: wait for the state, not for a fixed time
    await waitForState(bg, 'connected');
    await bg.idle();
    expect(submits(native).map((r) => r.payload.path)).toEqual([`${DL}/invoice.pdf`]);
    expect((await storedJobs()).get(3)).toMatchObject({ submitted: true, jobId: 'job-3' });
  });

  it('an incognito download is submitted with its URLs, but no URL of it is ever stored', async () => {
    const native = new FakeNativeMessaging(undefined);
    const { bg, downloads } = startWorker(native);
    downloads.complete({
      id: 5,
      filename: `${DL}/private.exe`,
      url: 'https://secret.example/p',
      referrer: 'https://secret.example/',
      incognito: true,
    });
    await bg.idle();
    const whileQueued = JSON.stringify(await fakeBrowser.storage.local.get(null));
    expect(whileQueued).toContain('private.exe');
    expect(whileQueued).not.toContain('secret.example');

    native.script = acceptingAgent;
    native.current!.closeFromHost();
    await waitForState(bg, 'connected');
    await bg.idle();
    expect(submits(native)[0]?.payload.provenance).toMatchObject({ url: 'https://secret.example/p', referrer: 'https://secret.example/' });
    native.current!.deliver(
      jobUpdate(
        { jobId: 'job-5', state: 'done', path: `${DL}/private.exe`, verdict: { level: 'clean', server: 'https://127.0.0.1:8443' } },
        5,
      ),
    );
    await bg.idle();
    expect(JSON.stringify(await fakeBrowser.storage.local.get(null))).not.toContain('secret.example');
  });

  it('data: URLs lose their body and long URLs are cut to MAX_URL_CHARS', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { bg, downloads } = startWorker(native);
    await bg.idle();
    const body =
      'TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA4fug4AtAnNIbgBTM0hVGhpcyBwcm9ncmFt'.repeat(50);
    downloads.complete({
      id: 8,
      filename: `${DL}/blob.exe`,
      url: `data:application/x-msdownload;base64,${body}`,
      referrer: `https://example.org/?q=${'x'.repeat(20_000)}`,
    });
    await bg.idle();
    const provenance = submits(native)[0]?.payload.provenance;
    expect(provenance?.url).toBe('data:application/x-msdownload;base64,');
    expect(provenance?.referrer).toHaveLength(MAX_URL_CHARS);
  });

  it('a refusal the agent will always repeat marks the download as an error instead of retrying it forever', async () => {
    const native = new FakeNativeMessaging((r) =>
      r.type === 'submit-download'
        ? { error: { code: 'PATH_IS_LINK', message: 'The path or one of its folders is a symbolic link', retryable: false } }
        : acceptingAgent(r),
    );
    const { bg, downloads } = startWorker(native);
    await bg.idle();
    downloads.complete({ id: 9, filename: `${DL}/linked.exe` });
    await bg.idle();
    expect((await storedJobs()).get(9)).toMatchObject({ state: 'error', submitted: true, error: { code: 'PATH_IS_LINK' } });
    await bg.capture.flush();
    expect(submits(native)).toHaveLength(1);
  });

  it('a download never waits for enterprise policy: it is judged on provisional settings, and one they skipped is captured once policy arrives', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    let releasePolicy: (items: Record<string, unknown>) => void = () => {};
    const slowManaged = { get: () => new Promise<Record<string, unknown>>((resolve) => (releasePolicy = resolve)) };
    const downloads = new FakeDownloads();
    const bg = startSandgateBackground({
      downloads,
      storage: { local: fakeBrowser.storage.local, managed: slowManaged, onChanged: fakeBrowser.storage.onChanged },
      action: fakeBrowser.action,
      notifications: fakeBrowser.notifications,
      connectNative: native.connect,
      t: englishTranslate(),
      iconUrl: 'icon.png',
      browserName: 'chromium',
      clientName: 'test',
      warn: () => {},
    });
    running.push(bg);
    // registered synchronously, before the policy read (3–5 s in Chromium) has answered
    expect(downloads.listenerCount).toBe(1);
    expect(native.ports).toHaveLength(1);
    await bg.idle();
    downloads.complete({ id: 1, filename: `${DL}/photo.png`, mime: 'image/png' });
    downloads.complete({ id: 2, filename: `${DL}/setup.exe` });
    await bg.idle();
    // decided at once, on the defaults: the .exe is sent, the .png is not (yet)
    expect(submits(native).map((r) => r.payload.path)).toEqual([`${DL}/setup.exe`]);
    expect(bg.settings.settled).toBe(false);

    releasePolicy({ capture: { fileExtensions: ['png'], mimeTypes: [] } });
    await bg.settings.whenSettled();
    await bg.idle();
    expect(submits(native).map((r) => r.payload.path)).toEqual([`${DL}/setup.exe`, `${DL}/photo.png`]);
    // kept for the next start, so the next worker decides on the policy from its first download
    expect((await fakeBrowser.storage.local.get(SETTINGS_KEY))[SETTINGS_KEY]).toMatchObject({
      fileExtensions: ['png'],
      locked: ['fileExtensions', 'mimeTypes'],
    });
  });

  it('the next worker uses the settings the previous one computed while managed storage is still loading', async () => {
    await fakeBrowser.storage.local.set({ [SETTINGS_KEY]: computeSettings({ fileExtensions: ['png'], mimeTypes: [] }, undefined) });
    const native = new FakeNativeMessaging(acceptingAgent);
    const downloads = new FakeDownloads();
    const bg = startSandgateBackground({
      downloads,
      storage: {
        local: fakeBrowser.storage.local,
        managed: { get: () => new Promise(() => {}) },
        onChanged: fakeBrowser.storage.onChanged,
      },
      action: fakeBrowser.action,
      notifications: fakeBrowser.notifications,
      connectNative: native.connect,
      t: englishTranslate(),
      iconUrl: 'icon.png',
      browserName: 'chromium',
      clientName: 'test',
      warn: () => {},
    });
    running.push(bg);
    await bg.idle();
    downloads.complete({ id: 1, filename: `${DL}/photo.png`, mime: 'image/png' });
    downloads.complete({ id: 2, filename: `${DL}/setup.exe` });
    await bg.idle();
    expect(submits(native).map((r) => r.payload.path)).toEqual([`${DL}/photo.png`]);
  });
});

describe('background: telling the person', () => {
  beforeEach(() => fakeBrowser.reset());
  afterEach(() => {
    for (const bg of running.splice(0)) bg.stop();
  });

  it('the badge counts downloads under analysis in a neutral colour, and a threat turns it red with a notification', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { bg, downloads } = startWorker(native);
    await bg.idle();
    downloads.complete({ id: 1, filename: `${DL}/eicar.com` });
    downloads.complete({ id: 2, filename: `${DL}/report.pdf` });
    await bg.idle();
    expect(await fakeBrowser.action.getBadgeText({})).toBe('2');
    expect(await fakeBrowser.action.getBadgeBackgroundColor({})).toEqual([0x5f, 0x63, 0x68, 255]);

    const port = native.current!;
    port.deliver(jobUpdate({ jobId: 'job-1', state: 'analysing', path: `${DL}/eicar.com` }, 1));
    port.deliver(
      jobUpdate(
        { jobId: 'job-2', state: 'done', path: `${DL}/report.pdf`, verdict: { level: 'clean', server: 'https://127.0.0.1:8443' } },
        2,
      ),
    );
    await bg.idle();
    expect(await fakeBrowser.action.getBadgeText({})).toBe('1');
    expect(fakeBrowser.notifications.getAllCreateOptions()).toEqual({});

    port.deliver(
      jobUpdate(
        {
          jobId: 'job-1',
          state: 'done',
          path: `${DL}/eicar.com`,
          verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'https://127.0.0.1:8443' },
          actions: [{ type: 'quarantine', status: 'done', id: 'q1' }],
        },
        1,
      ),
    );
    await bg.idle();
    expect(await fakeBrowser.action.getBadgeText({})).toBe('!');
    expect(await fakeBrowser.action.getBadgeBackgroundColor({})).toEqual(hex(BADGE_THREAT_COLOR));
    const notes = fakeBrowser.notifications.getAllCreateOptions();
    expect(Object.keys(notes)).toEqual([threatNotificationId(1)]);
    expect(notes[threatNotificationId(1)]).toMatchObject({
      type: 'basic',
      title: 'Threat found: EICAR-Test-File',
      message: 'eicar.com contained EICAR-Test-File. It was moved to quarantine.',
    });
    expect((await storedJobs()).get(1)).toMatchObject({
      state: 'malicious',
      threat: 'EICAR-Test-File',
      server: 'https://127.0.0.1:8443',
      actions: [{ type: 'quarantine', status: 'done' }],
    });

    // the same update again does not notify twice
    await fakeBrowser.notifications.clear(threatNotificationId(1));
    port.deliver(
      jobUpdate(
        {
          jobId: 'job-1',
          state: 'done',
          path: `${DL}/eicar.com`,
          verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 'x' },
          actions: [{ type: 'quarantine', status: 'done' }],
        },
        1,
      ),
    );
    await bg.idle();
    expect(fakeBrowser.notifications.getAllCreateOptions()).toEqual({});

    // opening the popup (which records that threats were seen) returns the badge to neutral
    await fakeBrowser.storage.local.set({ [THREATS_SEEN_KEY]: new Date(Date.now() + 1000).toISOString() });
    await bg.idle();
    expect(await fakeBrowser.action.getBadgeText({})).toBe('');
    expect(await fakeBrowser.action.getBadgeBackgroundColor({})).toEqual(hex(BADGE_NEUTRAL_COLOR));
  });

  it('the verdict is shown the moment the agent has recorded it, and the quarantine outcome follows with the job’s end', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { bg, downloads } = startWorker(native);
    await bg.idle();
    downloads.complete({ id: 7, filename: `${DL}/invoice.exe` });
    await bg.idle();
    const verdict = { level: 'malicious' as const, threat: 'EICAR-Test-File', server: 'https://127.0.0.1:8443' };
    // The agent pushes the recorded verdict while its response actions still run.
    native.current!.deliver(jobUpdate({ jobId: 'job-7', state: 'analysing', path: `${DL}/invoice.exe`, verdict }, 7));
    await bg.idle();
    expect((await storedJobs()).get(7)).toMatchObject({ state: 'malicious', threat: 'EICAR-Test-File', settled: false });
    expect(await fakeBrowser.action.getBadgeText({})).toBe('!');
    const early = fakeBrowser.notifications.getAllCreateOptions()[threatNotificationId(7)];
    expect(early).toMatchObject({ title: 'Threat found: EICAR-Test-File' });
    expect(early?.message).not.toMatch(/moved to quarantine/);

    native.current!.deliver(
      jobUpdate(
        { jobId: 'job-7', state: 'done', path: `${DL}/invoice.exe`, verdict, actions: [{ type: 'quarantine', status: 'done', id: 'q7' }] },
        7,
      ),
    );
    await bg.idle();
    expect((await storedJobs()).get(7)).toMatchObject({ state: 'malicious', settled: true, quarantineId: 'q7' });
    expect(fakeBrowser.notifications.getAllCreateOptions()[threatNotificationId(7)]).toMatchObject({
      message: 'invoice.exe contained EICAR-Test-File. It was moved to quarantine.',
    });
  });

  it('a failed quarantine is said plainly: the file is still there', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { bg, downloads } = startWorker(native);
    await bg.idle();
    downloads.complete({ id: 4, filename: `${DL}/tool.exe` });
    await bg.idle();
    // the verdict first, the action outcome in a later update: one notification, updated in place
    native.current!.deliver(
      jobUpdate({ jobId: 'job-4', state: 'done', path: `${DL}/tool.exe`, verdict: { level: 'malicious', server: 's' } }, 4),
    );
    await bg.idle();
    expect(fakeBrowser.notifications.getAllCreateOptions()[threatNotificationId(4)]?.message).toBe(
      'tool.exe contains an unnamed threat. It was left in place: do not open it.',
    );
    native.current!.deliver(
      jobUpdate(
        {
          jobId: 'job-4',
          state: 'done',
          path: `${DL}/tool.exe`,
          verdict: { level: 'malicious', server: 's' },
          actions: [{ type: 'quarantine', status: 'failed', code: 'QUARANTINE_FAILED' }],
        },
        4,
      ),
    );
    await bg.idle();
    const notes = fakeBrowser.notifications.getAllCreateOptions();
    expect(Object.keys(notes)).toHaveLength(1);
    expect(notes[threatNotificationId(4)]?.message).toBe(
      'tool.exe contains an unnamed threat. Quarantine failed and the file is still there: do not open it.',
    );
  });

  it('job updates for downloads this browser did not capture are ignored', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { bg } = startWorker(native);
    await bg.idle();
    native.current!.deliver(
      jobUpdate({ jobId: 'cli-1', state: 'done', path: '/tmp/x.exe', verdict: { level: 'malicious', server: 's' } }, 77),
    );
    await bg.idle();
    expect((await storedJobs()).size).toBe(0);
    expect(fakeBrowser.notifications.getAllCreateOptions()).toEqual({});
  });

  it('the agent connection state is kept in storage for the popup', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    native.notInstalled = true;
    const { bg } = startWorker(native);
    await bg.idle();
    await new Promise((r) => setTimeout(r, 0));
    await bg.idle();
    expect((await fakeBrowser.storage.local.get(AGENT_KEY))[AGENT_KEY]).toMatchObject({
      state: 'not-installed',
      lastError: { code: 'HOST_NOT_INSTALLED' },
    });
  });
});

describe('background: service-worker restart', () => {
  beforeEach(() => fakeBrowser.reset());
  afterEach(() => {
    for (const bg of running.splice(0)) bg.stop();
  });

  it('job state survives a worker restart, and a verdict for a job from the previous worker still lands', async () => {
    const native1 = new FakeNativeMessaging(acceptingAgent);
    const first = startWorker(native1);
    await first.bg.idle();
    first.downloads.complete({ id: 21, filename: `${DL}/setup.exe` });
    await first.bg.idle();
    first.bg.stop();

    // new module instances, new port, same storage
    const native2 = new FakeNativeMessaging(acceptingAgent);
    const second = startWorker(native2);
    await second.bg.idle();
    expect((await second.bg.store.list()).map((r) => [r.downloadId, r.state, r.jobId])).toEqual([[21, 'queued', 'job-21']]);
    expect(submits(native2)).toHaveLength(0); // already accepted: not sent again
    expect(await fakeBrowser.action.getBadgeText({})).toBe('1');
    native2.current!.deliver(
      jobUpdate(
        {
          jobId: 'job-21',
          state: 'done',
          path: `${DL}/setup.exe`,
          verdict: { level: 'malicious', threat: 'EICAR-Test-File', server: 's' },
          actions: [{ type: 'quarantine', status: 'done' }],
        },
        21,
      ),
    );
    await second.bg.idle();
    expect((await storedJobs()).get(21)).toMatchObject({ state: 'malicious', threat: 'EICAR-Test-File' });
  });

  it('a job whose verdict was shown but whose end was missed during a restart is completed from the agent\'s job list', async () => {
    const verdict = { level: 'malicious' as const, threat: 'EICAR-Test-File', server: 's' };
    const native1 = new FakeNativeMessaging(acceptingAgent);
    const first = startWorker(native1);
    await first.bg.idle();
    first.downloads.complete({ id: 31, filename: `${DL}/tool.exe` });
    await first.bg.idle();
    native1.current!.deliver(jobUpdate({ jobId: 'job-31', state: 'analysing', path: `${DL}/tool.exe`, verdict }, 31));
    await first.bg.idle();
    first.bg.stop();

    // The job finished (quarantined) while no worker listened; the next worker asks the agent for its jobs.
    const finished = jobUpdate(
      { jobId: 'job-31', state: 'done', path: `${DL}/tool.exe`, verdict, actions: [{ type: 'quarantine', status: 'done', id: 'q31' }] },
      31,
    ).payload;
    const native2 = new FakeNativeMessaging((request) =>
      request.type === 'list-jobs' ? { data: { jobs: [finished] } } : acceptingAgent(request),
    );
    const second = startWorker(native2);
    await second.bg.idle();
    expect((await storedJobs()).get(31)).toMatchObject({ state: 'malicious', settled: true, quarantineId: 'q31' });
  });

  it('a capture not yet accepted when the worker stopped is sent by the next worker', async () => {
    const native1 = new FakeNativeMessaging(undefined);
    const first = startWorker(native1);
    first.downloads.complete({ id: 30, filename: `${DL}/doc.docm` });
    await first.bg.idle();
    first.bg.stop();

    const native2 = new FakeNativeMessaging(acceptingAgent);
    const second = startWorker(native2);
    await second.bg.idle();
    expect(submits(native2).map((r) => [r.payload.path, r.payload.provenance.downloadId])).toEqual([[`${DL}/doc.docm`, 30]]);
  });
});

async function waitForState(bg: SandgateBackground, state: string): Promise<void> {
  if (bg.client.connection.state === state) return;
  await new Promise<void>((resolve) => {
    const off = bg.client.onConnectionChange((c) => {
      if (c.state === state) {
        off();
        resolve();
      }
    });
  });
}

function hex(color: string): number[] {
  const n = parseInt(color.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255, 255];
}
