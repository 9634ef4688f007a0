import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { JobStore } from '../../../../extension/utils/job-store.ts';
import type { JobRecord } from '../../../../extension/utils/job-record.ts';
import { JOBS_KEY, MAX_JOBS } from '../../../../extension/utils/storage-keys.ts';

function record(downloadId: number, minute: number): JobRecord {
  const at = new Date(Date.UTC(2026, 10, 22, 9, 0, 0) + minute * 60_000).toISOString();
  return {
    downloadId,
    path: `/d/f${downloadId}.exe`,
    fileName: `f${downloadId}.exe`,
    incognito: false,
    state: 'queued',
    submitted: true,
    capturedAt: at,
    updatedAt: at,
  };
}

describe('job store', () => {
  beforeEach(() => fakeBrowser.reset());

  it(`keeps only the ${MAX_JOBS} most recent captures, keyed by download id`, async () => {
    const store = new JobStore(fakeBrowser.storage.local);
    await store.update((jobs) => {
      for (let i = 0; i < MAX_JOBS + 25; i++) jobs.set(i, record(i, i));
    });
    const raw = (await fakeBrowser.storage.local.get(JOBS_KEY))[JOBS_KEY];
    expect(Object.keys(raw as object)).toHaveLength(MAX_JOBS);
    expect(raw).toHaveProperty(String(MAX_JOBS + 24));
    expect(raw).not.toHaveProperty('24');
    const list = await new JobStore(fakeBrowser.storage.local).list();
    expect(list[0]?.downloadId).toBe(MAX_JOBS + 24);
    expect(list.at(-1)?.downloadId).toBe(25);
  });

  it('concurrent updates are applied one after the other, none lost', async () => {
    const store = new JobStore(fakeBrowser.storage.local);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.update((jobs) => void jobs.set(i, record(i, i)))));
    expect((await store.list()).length).toBe(20);
  });

  it('entries in a shape this build does not know are dropped, not trusted', async () => {
    await fakeBrowser.storage.local.set({ [JOBS_KEY]: { '1': record(1, 1), '2': { downloadId: 2, state: 'owned' }, '3': 'junk' } });
    expect((await new JobStore(fakeBrowser.storage.local).list()).map((r) => r.downloadId)).toEqual([1]);
    await fakeBrowser.storage.local.set({ [JOBS_KEY]: 'not an object' });
    expect(await new JobStore(fakeBrowser.storage.local).list()).toEqual([]);
  });
});
