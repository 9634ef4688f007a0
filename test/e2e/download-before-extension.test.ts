/// <reference types="chrome" />
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createBrowserDirs,
  extensionVerdictFor,
  launchBrowser,
  launchBrowserWithoutExtension,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import { pollFor, startStack, type Stack, quarantineList as quarantineListOf } from '#test-helpers/stack.ts';

// A download that completes while no Sandgate listener is on record (the extension being installed, updated or
// reloaded at that moment) gets no completion event the extension could ever see. Here the EICAR is downloaded by the
// same Chromium profile before the extension is there at all; when the browser starts again with the extension, its
// worker looks back over the last minutes' completed downloads and judges this one. Without that catch-up the file
// would stay in the download folder, never judged.

let dirs: BrowserDirs;
let stack: Stack;
let server: DownloadServer;
let browser: BrowserSession | undefined;

beforeAll(async () => {
  dirs = createBrowserDirs();
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  await stack.registerNativeHost(dirs.userDataDir);
  server = await startDownloadServer();
});

afterEach(({ task }) => {
  if (task.result?.state !== 'fail' || !stack) return;
  process.stderr.write(`--- agent log ---\n${stack.agentLog()}\n`);
  const bridgeLog = join(stack.paths.logs, 'native-host.log');
  if (existsSync(bridgeLog)) process.stderr.write(`--- bridge log ---\n${readFileSync(bridgeLog, 'utf8').slice(-10_000)}\n`);
  process.stderr.write(`--- extension console ---\n${browser?.workerConsole() ?? ''}\n`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await server?.close();
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
});

const quarantineList = () => quarantineListOf(stack);

describe('a download that completed before the extension was running', () => {
  it('is judged when the extension starts: the EICAR goes to quarantine and the extension shows the threat', async () => {
    const path = join(dirs.downloadDir, 'eicar.com');
    const plain = await launchBrowserWithoutExtension(dirs);
    try {
      const page = await plain.newPage();
      await page.goto(server.pageUrl);
      await page.click('a[id="eicar.com"]');
      // Complete: the file under its final name and no partial file beside it.
      await pollFor('the EICAR download to complete without the extension', () =>
        existsSync(path) && !readdirSync(dirs.downloadDir).some((f) => f.endsWith('.crdownload')) ? true : undefined,
      );
    } finally {
      await plain.close();
    }
    // Nothing judged it: no extension, so no request ever reached the agent.
    expect(existsSync(path)).toBe(true);

    browser = await launchBrowser({ dirs, env: stack.env, reuseProfile: true });
    const item = await pollFor('EICAR in the quarantine', async () => (await quarantineList()).find((q) => q.originalPath === path));
    expect(item.threat).toMatch(/EICAR/i);
    await pollFor('the original to be deleted', () => (existsSync(path) ? undefined : true));

    const sw = browser.sw;
    const id = await sw.evaluate(async (p) => (await chrome.downloads.search({ filename: p }))[0]?.id, path);
    expect(id).toBeTypeOf('number');
    const shown = await pollFor('the extension to record the malicious verdict', async () => {
      const v = await extensionVerdictFor(sw, id!);
      return v?.level === 'malicious' ? v : undefined;
    });
    expect(shown.threat ?? '').toMatch(/EICAR/i);
  });
});
