/// <reference types="chrome" />
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { setupExeBytes, startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import {
  builtExtensionId,
  createBrowserDirs,
  downloadItem,
  extensionStorage,
  launchBrowser,
  openPopup,
  startDownload,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { labKnows, pollFor, startStack, type Stack } from '#test-helpers/stack.ts';

// Issue 6, enterprise policy in a real browser: an administrator's managed policy in Chromium's policy folder
// (toolchain.md §7) replaces what the extension captures. Policy says "only .txt, no MIME type"; the person chose
// "exe" on the options page. Policy wins: a .txt is judged, an .exe served as application/x-msdownload (captured by
// both the default extension list and the default MIME list) is left alone, and the options page shows the setting
// locked. The e2e project runs its files one at a time (vitest.config.ts: fileParallelism false), and each file that
// writes a policy removes it when done, so hold-download.test.ts never sees this policy nor this file its.

const POLICY_DIR = '/etc/chromium/policies/managed';
const POLICY_FILE = join(POLICY_DIR, 'sandgate-e2e-capture.json');
const TEXT = Buffer.from('Quarterly numbers, as agreed.\nSandgate managed-policy test.\n', 'utf8');

let dirs: BrowserDirs;
let stack: Stack;
let server: DownloadServer;
let browser: BrowserSession;
let popup: Page;

/** Policy files of other tests that configure the same extension: they would merge with ours and blur the result. */
function otherPoliciesFor(extensionId: string): string[] {
  if (!existsSync(POLICY_DIR)) return [];
  return readdirSync(POLICY_DIR)
    .map((name) => join(POLICY_DIR, name))
    .filter((path) => path !== POLICY_FILE && readFileSync(path, 'utf8').includes(extensionId));
}

beforeAll(async () => {
  const id = builtExtensionId();
  const others = otherPoliciesFor(id);
  if (others.length)
    throw new Error(`another policy for ${id} is in place (${others.join(', ')}): a test left it behind or runs at the same time`);
  mkdirSync(POLICY_DIR, { recursive: true });
  writeFileSync(
    POLICY_FILE,
    JSON.stringify({ '3rdparty': { extensions: { [id]: { capture: { fileExtensions: ['txt'], mimeTypes: [] } } } } }),
  );
  dirs = createBrowserDirs();
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  await stack.registerNativeHost(dirs.userDataDir);
  server = await startDownloadServer();
  server.addFile('notes.txt', TEXT, 'text/plain');
  browser = await launchBrowser({ dirs, env: stack.env });
  popup = await openPopup(browser);
  // The person's own choice, which policy must override.
  await popup.evaluate(() => chrome.storage.local.set({ 'sandgate.userSettings': { fileExtensions: ['exe'] } }));
  // Chromium's first managed-storage read blocks until policy has loaded; then the settings in force are policy's.
  await pollFor('the extension to apply the capture policy', async () => {
    const s = (await extensionStorage(popup, 'sandgate.settings')) as { locked?: string[]; fileExtensions?: string[] } | undefined;
    return s?.locked?.includes('fileExtensions') && s.fileExtensions?.join() === 'txt' ? true : undefined;
  });
});

afterEach(({ task }) => {
  if (task.result?.state !== 'fail' || !stack) return;
  process.stderr.write(`--- agent log ---\n${stack.agentLog()}\n`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await server?.close();
  rmSync(POLICY_FILE, { force: true });
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
});

async function record(id: number): Promise<Record<string, unknown> | undefined> {
  const jobs = (await extensionStorage(popup, 'sandgate.jobs')) as Record<string, Record<string, unknown>> | undefined;
  return jobs?.[String(id)];
}

describe('an administrator decides what the extension captures', () => {
  it('a .txt, captured by no default, is judged; an .exe, captured by every default and by the person, is not', async () => {
    const exeBytes = setupExeBytes();
    exeBytes.write('managed-policy test', 300, 'latin1');
    server.addFile('tool.exe', exeBytes, 'application/x-msdownload');
    const exePath = join(browser.downloadDir, 'tool.exe');
    const txtPath = join(browser.downloadDir, 'notes.txt');

    const exeId = await startDownload(popup, server.fileUrl('tool.exe'));
    await pollFor('the .exe download to complete', async () =>
      (await downloadItem(popup, exeId))?.state === 'complete' ? true : undefined,
    );
    // The .txt comes after the .exe: once its verdict is in, an .exe submission would have happened already.
    const txtId = await startDownload(popup, server.fileUrl('notes.txt'));
    const judged = await pollFor('a verdict for the .txt in the extension', async () => {
      const r = await record(txtId);
      return r && r['submitted'] === true && typeof r['state'] === 'string' && !['queued', 'analysing'].includes(r['state'])
        ? r
        : undefined;
    });
    expect(judged['state']).toBe('clean');
    expect(judged['path']).toBe(txtPath);
    expect(await labKnows(stack.lab, TEXT)).toBe(true);
    expect(stack.events().filter((e) => e.path === txtPath && e.type === 'object-accepted')).toHaveLength(1);

    expect(await record(exeId)).toBeUndefined();
    expect(stack.events().some((e) => e.path === exePath)).toBe(false);
    expect(await labKnows(stack.lab, exeBytes)).toBe(false);
    expect(readFileSync(exePath).equals(exeBytes)).toBe(true);
  });

  it('the options page shows the file types set by the administrator, locked', async () => {
    const options = await browser.context.newPage();
    try {
      await options.goto(`chrome-extension://${browser.extensionId}/options.html`);
      const input = options.locator('#file-extensions');
      await input.waitFor();
      expect(await input.inputValue()).toBe('txt');
      expect(await input.isDisabled()).toBe(true);
      expect(await options.locator('#locked-fileExtensions').textContent()).toBe('Set by your administrator');
      expect(await options.locator('#locked-mimeTypes').count()).toBe(1);
      expect(await options.locator('#locked-pendingVerdict').count()).toBe(0);
    } finally {
      await options.close();
    }
  });
});
