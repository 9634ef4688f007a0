import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { DEFAULT_CAPTURE_RULES } from '../../../../extension/utils/capture-rules.ts';
import { CATCH_UP_MS, DownloadCapture } from '../../../../extension/utils/download-capture.ts';
import type { SubmitDownloadPayload } from '../../../../extension/utils/host-client.ts';
import { JobStore } from '../../../../extension/utils/job-store.ts';
import { FakeDownloads } from '../helpers/fake-downloads.ts';

beforeEach(() => fakeBrowser.reset());

const NOW = new Date('2026-11-22T10:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function worker(downloads: FakeDownloads, store = new JobStore(fakeBrowser.storage.local)) {
  const submits: SubmitDownloadPayload[] = [];
  const capture = new DownloadCapture({
    downloads,
    store,
    client: {
      hasCapability: () => true,
      async submitDownload(payload) {
        submits.push(payload);
        return { jobId: `job-${submits.length}`, sha256: 'a'.repeat(64), size: 68, state: 'queued' };
      },
    },
    rules: () => DEFAULT_CAPTURE_RULES,
    browserName: 'chromium',
    now: () => NOW,
    warn: () => {},
  });
  capture.start();
  return { capture, submits, store };
}

describe('a download that completed while the extension was being installed, updated or reloaded', () => {
  it('is judged when the worker starts, and only downloads from the last minutes are', async () => {
    const downloads = new FakeDownloads();
    // No listener was registered when these completed: no event will ever come for them.
    downloads.completedUnseen({ id: 7, filename: '/home/ann/Downloads/setup.exe', endTime: ago(3_000) });
    downloads.completedUnseen({ id: 3, filename: '/home/ann/Downloads/old-report.pdf', endTime: ago(CATCH_UP_MS + 60_000) });
    downloads.completedUnseen({ id: 8, filename: '/home/ann/Downloads/notes.txt', endTime: ago(2_000) });
    const { capture, submits } = worker(downloads);

    await capture.catchUp();

    // setup.exe is a type the rules capture; notes.txt is not; old-report.pdf completed before the window.
    expect(submits.map((s) => s.path)).toEqual(['/home/ann/Downloads/setup.exe']);
  });

  it('is not submitted again by a later worker start, nor is a download the listener already captured', async () => {
    const downloads = new FakeDownloads();
    const store = new JobStore(fakeBrowser.storage.local);
    const first = worker(downloads, store);
    downloads.complete({ id: 1, filename: '/home/ann/Downloads/tool.exe', endTime: ago(1_000) });
    await new Promise((r) => setTimeout(r, 10));
    downloads.completedUnseen({ id: 2, filename: '/home/ann/Downloads/setup.msi', endTime: ago(500) });
    await first.capture.catchUp();
    expect(first.submits.map((s) => s.path)).toEqual(['/home/ann/Downloads/tool.exe', '/home/ann/Downloads/setup.msi']);

    // The worker stops and starts again (the browser's idle timeout): the same records, no second submission.
    const second = worker(downloads, store);
    await second.capture.catchUp();
    expect(second.submits).toEqual([]);
  });
});
