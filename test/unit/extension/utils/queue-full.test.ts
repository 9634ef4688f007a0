import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { parseHTML } from 'linkedom';
import { PROTOCOL_VERSION } from '@sandgate/shared';
import { startSandgateBackground, type SandgateBackground } from '../../../../extension/utils/sandgate-background.ts';
import { parseJobs } from '../../../../extension/utils/job-store.ts';
import { JOBS_KEY } from '../../../../extension/utils/storage-keys.ts';
import { renderPopup } from '../../../../extension/utils/popup-view.ts';
import { FakeNativeMessaging, acceptingAgent, type AgentScript } from '../helpers/fake-native-messaging.ts';
import { FakeDownloads } from '../helpers/fake-downloads.ts';
import { englishTranslate } from '../helpers/translate.ts';

const running: SandgateBackground[] = [];
beforeEach(() => fakeBrowser.reset());
afterEach(() => {
  for (const bg of running.splice(0)) bg.stop();
});

const fullQueue: AgentScript = (r) =>
  r.type === 'submit-download'
    ? {
        error: {
          code: 'QUEUE_FULL',
          message: 'The request queue is full (104857600 of 104857600 bytes); try again later',
          retryable: true,
        },
      }
    : acceptingAgent(r);

async function popupState(downloadId: number): Promise<string | null | undefined> {
  const jobs = parseJobs((await fakeBrowser.storage.local.get(JOBS_KEY))[JOBS_KEY]);
  const { document } = parseHTML('<!doctype html><html><body><main id="app"></main></body></html>');
  const root = document.getElementById('app')!;
  renderPopup(root, { records: [...jobs.values()], agent: { state: 'connected', since: '2026-11-22T09:00:00.000Z' } }, englishTranslate());
  return root.querySelector(`[data-download-id="${downloadId}"] .state`)?.textContent;
}

describe('a full agent queue, as the person sees it', () => {
  it('says the download waits because the queue is full, and sends it as soon as the agent reports room', async () => {
    const native = new FakeNativeMessaging(fullQueue);
    const downloads = new FakeDownloads();
    const bg = startSandgateBackground({
      downloads,
      storage: fakeBrowser.storage,
      action: fakeBrowser.action,
      notifications: fakeBrowser.notifications,
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
    await bg.idle();

    downloads.complete({ id: 4, filename: '/home/ann/Downloads/setup.exe' });
    await bg.idle();
    expect(await popupState(4)).toBe(
      "Waiting: the agent's queue is full. It will be sent for analysis when there is room; do not open it yet.",
    );

    // The agent frees room and says so; the same connection carries the retry.
    native.script = acceptingAgent;
    native.current!.deliver({
      v: PROTOCOL_VERSION,
      kind: 'event',
      type: 'agent-status',
      payload: { serversReachable: true, queueFull: false },
    });
    await bg.idle();
    const submits = native.allRequests().filter((r) => r.type === 'submit-download');
    expect(submits).toHaveLength(2);
    expect(native.ports).toHaveLength(1);
    expect(await popupState(4)).toBe('Queued');
    const record = parseJobs((await fakeBrowser.storage.local.get(JOBS_KEY))[JOBS_KEY]).get(4);
    expect(record).toMatchObject({ submitted: true, jobId: 'job-4' });
    expect(record?.error).toBeUndefined();
  });
});
