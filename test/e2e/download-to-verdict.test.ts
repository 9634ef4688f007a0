/// <reference types="chrome" />
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Worker } from 'playwright-core';
import { statusResultSchema } from '@sandgate/shared';
import {
  createBrowserDirs,
  extensionHasJob,
  extensionVerdictFor,
  launchBrowser,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import { labKnows, pollFor, startStack, type Stack, quarantineList as quarantineListOf } from '#test-helpers/stack.ts';

// The backbone of issue 2, in a real browser: Debian Chromium with the built extension, the native host registered
// into its profile by `sandgate install`, the bridge starting the agent service on the first connection, and
// sandgate-lab on loopback. Outcomes are polled with a generous deadline; durations are never asserted.

let dirs: BrowserDirs;
let stack: Stack;
let server: DownloadServer;
let browser: BrowserSession;
let page: Page;
let sw: Worker;

beforeAll(async () => {
  dirs = createBrowserDirs();
  // Debug level: on failure the logs then say when the bridge got each request and what the agent did with it.
  process.env.SANDGATE_LOG_LEVEL = 'debug';
  // The agent is not started here: the bridge must start it when the extension first connects.
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  await stack.registerNativeHost(dirs.userDataDir);
  server = await startDownloadServer();
  browser = await launchBrowser({ dirs, env: stack.env });
  sw = browser.sw;
  page = await browser.context.newPage();
  await page.goto(server.pageUrl);
});

afterEach(async ({ task }) => {
  // On failure the agent's, the bridge's and the extension's own words are what explain it; print their tails.
  if (task.result?.state !== 'fail' || !stack) return;
  const bridgeLog = join(stack.paths.logs, 'native-host.log');
  process.stderr.write(`--- agent log ---\n${stack.agentLog()}\n`);
  if (existsSync(bridgeLog)) process.stderr.write(`--- bridge log ---\n${readFileSync(bridgeLog, 'utf8').slice(-10_000)}\n`);
  process.stderr.write(`--- extension console ---\n${browser?.workerConsole() ?? ''}\n`);
  const stored = await sw?.evaluate(() => chrome.storage.local.get(null)).catch((err: unknown) => String(err));
  process.stderr.write(`--- extension storage ---\n${JSON.stringify(stored).slice(0, 10_000)}\n`);
});

afterAll(async () => {
  // Order matters: the browser first (it holds the bridge), then the agent and lab, then the folders.
  await browser?.close();
  await stack?.close();
  await server?.close();
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
});

/** Clicks the page's `<a download>` link and returns the browser's download id once the download exists. */
async function download(linkId: string, url: string): Promise<number> {
  await page.click(`a[id="${linkId}"]`);
  return pollFor(`a download of ${url}`, async () => {
    const items = await sw.evaluate(async (u) => (await chrome.downloads.search({ url: u })).map((d) => d.id), url);
    return items[0];
  });
}

async function downloadState(id: number): Promise<{ state: string; filename: string; exists: boolean } | undefined> {
  return sw.evaluate(async (i) => {
    const [d] = await chrome.downloads.search({ id: i });
    return d ? { state: d.state, filename: d.filename, exists: d.exists } : undefined;
  }, id);
}

const quarantineList = () => quarantineListOf(stack);

describe('a download in Chromium reaches the sandbox', () => {
  it('EICAR disappears from the download folder into quarantine, the extension shows the threat, and a restore brings it back byte-identical', async () => {
    const url = server.fileUrl('eicar.com');
    const path = join(browser.downloadDir, 'eicar.com');
    const id = await download('eicar.com', url);
    await pollFor('the EICAR download to complete', async () => ((await downloadState(id))?.state === 'complete' ? true : undefined));
    expect((await downloadState(id))?.filename).toBe(path);

    const item = await pollFor('EICAR in the quarantine', async () => (await quarantineList()).find((q) => q.originalPath === path));
    expect(item.threat).toMatch(/EICAR/i);
    await pollFor('the original to be deleted', () => (existsSync(path) ? undefined : true));
    expect(existsSync(path)).toBe(false);
    expect((await quarantineList()).filter((q) => q.originalPath === path)).toHaveLength(1);

    const shown = await pollFor('the extension to record the malicious verdict', async () => {
      const v = await extensionVerdictFor(sw, id);
      return v?.level === 'malicious' ? v : undefined;
    });
    expect(shown.threat ?? '').toMatch(/EICAR/i);

    // The permissions Chromium gave the download, as the quarantine recorded them before deleting it.
    const shownItem = await stack.sandgate(['quarantine', 'show', item.id, '--json']);
    const recorded = JSON.parse(shownItem.stdout) as { mode: number; mtimeMs: number };
    const restore = await stack.sandgate(['quarantine', 'restore', item.id]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(readFileSync(path).equals(server.files.get('eicar.com')!.body)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(recorded.mode & 0o777);
    expect(Math.round(statSync(path).mtimeMs)).toBe(Math.round(recorded.mtimeMs));
  });

  it('a .png is never submitted, and a clean PDF gets a clean verdict and stays untouched', async () => {
    const pngId = await download('picture.png', server.fileUrl('picture.png'));
    const pngPath = join(browser.downloadDir, 'picture.png');
    await pollFor('the PNG download to complete', async () => ((await downloadState(pngId))?.state === 'complete' ? true : undefined));

    // The PDF is downloaded after the PNG, so once its verdict is in, a PNG submission would have happened already.
    const pdfPath = join(browser.downloadDir, 'clean.pdf');
    const pdfId = await download('clean.pdf', server.fileUrl('clean.pdf'));
    const shown = await pollFor('the extension to record a clean verdict for the PDF', async () => {
      const v = await extensionVerdictFor(sw, pdfId);
      return v?.level === 'clean' ? v : undefined;
    });
    expect(shown.level).toBe('clean');

    const status = await stack.sandgate(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const recent = statusResultSchema.parse(JSON.parse(status.stdout)).recent;
    expect(recent.find((j) => j.path === pdfPath)?.level).toBe('clean');
    expect(readFileSync(pdfPath).equals(server.files.get('clean.pdf')!.body)).toBe(true);
    expect((await quarantineList()).filter((q) => q.originalPath === pdfPath)).toHaveLength(0);

    expect(recent.some((j) => j.path === pngPath)).toBe(false);
    expect(stack.events().some((e) => e.path === pngPath)).toBe(false);
    expect(await labKnows(stack.lab, server.files.get('picture.png')!.body)).toBe(false);
    expect(await extensionHasJob(sw, pngId)).toBe(false);
    expect(readFileSync(pngPath).equals(server.files.get('picture.png')!.body)).toBe(true);
  });

  it('a setup.exe behind a 302 redirect is captured under its real name and judged', async () => {
    const path = join(browser.downloadDir, 'setup.exe');
    await page.click('a[id="redirect-setup"]');
    const id = await pollFor('the redirected download', async () => {
      const items = await sw.evaluate(async (u) => (await chrome.downloads.search({ url: u })).map((d) => d.id), server.redirectUrl);
      return items[0];
    });
    const v = await pollFor('a verdict for setup.exe in the extension', async () => {
      const s = await extensionVerdictFor(sw, id);
      return s?.level ? s : undefined;
    });
    expect(['clean', 'suspicious', 'unknown', 'malicious']).toContain(v.level);
    const events = stack.events().filter((e) => e.path === path && e.type === 'object-accepted');
    expect(events).toHaveLength(1);
  });
});
