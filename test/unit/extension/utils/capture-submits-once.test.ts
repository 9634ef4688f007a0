import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { DEFAULT_CAPTURE_RULES } from '../../../../extension/utils/capture-rules.ts';
import { DownloadCapture } from '../../../../extension/utils/download-capture.ts';
import type { SubmitDownloadPayload } from '../../../../extension/utils/host-client.ts';
import { JobStore } from '../../../../extension/utils/job-store.ts';
import type { StorageAreaLike } from '../../../../extension/utils/storage-area.ts';
import { JOBS_KEY } from '../../../../extension/utils/storage-keys.ts';
import { FakeDownloads } from '../helpers/fake-downloads.ts';

beforeEach(() => fakeBrowser.reset());

describe('a download completing just as the agent connects', () => {
  // Seen in Firefox (test/e2e/firefox-download.test.ts): the first download of a session completed while the native
  // port was coming up, the capture and the on-connect flush of the outbox each sent it, and the agent judged the file
  // twice; the second quarantine then failed with ORIGINAL_CHANGED because the first had already removed the file.
  it('is submitted once, whether the capture or the outbox flush gets there first', async () => {
    const submits: SubmitDownloadPayload[] = [];
    let capture: DownloadCapture | undefined;
    let flushed = false;
    const work: Promise<unknown>[] = [];
    // The connection comes up the moment the unsubmitted record reaches storage: the worker flushes its outbox then.
    const local: StorageAreaLike = {
      get: (keys) => fakeBrowser.storage.local.get(keys),
      async set(items) {
        await fakeBrowser.storage.local.set(items);
        if (!flushed && JOBS_KEY in items) {
          flushed = true;
          work.push(capture!.flush());
        }
      },
    };
    const downloads = new FakeDownloads();
    capture = new DownloadCapture({
      downloads,
      store: new JobStore(local),
      client: {
        hasCapability: () => true,
        async submitDownload(payload) {
          submits.push(payload);
          return { jobId: `job-${submits.length}`, sha256: 'a'.repeat(64), size: 68, state: 'queued' };
        },
      },
      rules: () => DEFAULT_CAPTURE_RULES,
      browserName: 'firefox',
      track: (p) => work.push(p),
      warn: () => {},
    });
    capture.start();

    downloads.complete({ id: 1, filename: '/home/ann/Downloads/eicar.com' });
    while (work.length) await Promise.all(work.splice(0));

    expect(submits.map((s) => s.path)).toEqual(['/home/ann/Downloads/eicar.com']);
  });
});
