/// <reference types="chrome" />
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { cleanPdfBytes, setupExeBytes, startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import {
  createBrowserDirs,
  downloadItem,
  extensionStorage,
  launchBrowser,
  openPopup,
  popupScreenshot,
  startDownload,
  stopServiceWorker,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';

// Issue 7 in a real browser: every state of the popup reached for real, with a screenshot of each for the README,
// and a service-worker stop in the middle of an analysis. Debian Chromium, the built extension, the bridge starting
// the agent, sandgate-lab on loopback. Outcomes are polled; durations are never asserted.

let dirs: BrowserDirs;
let stack: Stack;
let server: DownloadServer;
let browser: BrowserSession;
let popup: Page;
let goodPolicy: string;

beforeAll(async () => {
  dirs = createBrowserDirs();
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  goodPolicy = readFileSync(stack.policyPath, 'utf8');
  await stack.registerNativeHost(dirs.userDataDir);
  server = await startDownloadServer();
  browser = await launchBrowser({ dirs, env: stack.env });
  popup = await openPopup(browser);
});

afterEach(({ task }) => {
  if (task.result?.state !== 'fail' || !stack) return;
  process.stderr.write(`--- agent log ---\n${stack.agentLog()}\n`);
  const bridgeLog = join(stack.paths.logs, 'native-host.log');
  if (existsSync(bridgeLog)) process.stderr.write(`--- bridge log ---\n${readFileSync(bridgeLog, 'utf8').slice(-10_000)}\n`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await server?.close();
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
});

/** Text of one download's row in the popup, once `ready` accepts it. */
async function rowFor(downloadId: number, ready: (text: string) => boolean, what: string): Promise<string> {
  return pollFor(
    what,
    async () => {
      const text = await popup
        .locator(`li[data-download-id="${downloadId}"]`)
        .textContent({ timeout: 1000 })
        .catch(() => null);
      return text !== null && ready(text) ? text : undefined;
    },
    60_000,
  );
}

async function bannerConditions(): Promise<string> {
  return (await popup.locator('#agent-state').getAttribute('data-conditions')) ?? '';
}

async function waitForBanner(condition: string): Promise<void> {
  await pollFor(
    `the popup banner to say ${condition}`,
    async () => ((await bannerConditions()).split(' ').includes(condition) ? true : undefined),
    90_000,
  );
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Rewrites the agent's policy and stops the agent; the bridge starts it again, with the new policy, on the next connection. */
async function restartAgentWith(policyText: string): Promise<void> {
  writeFileSync(stack.policyPath, policyText, { mode: 0o600 });
  await stack.stopAgent();
}

describe('the popup, state by state', () => {
  it('clean: the verdict, the server that judged, the time taken, and "Show in folder" for the file', async () => {
    const id = await startDownload(popup, server.fileUrl('clean.pdf'));
    await rowFor(id, (t) => t.includes('Clean'), 'a clean verdict in the popup');
    const row = popup.locator(`li[data-download-id="${id}"]`);
    expect(await row.getAttribute('data-status')).toBe('ok');
    // In plain words for the person: the server and the time taken only once "Details" is opened.
    expect(await row.innerText()).not.toContain(stack.lab.url);
    await row.locator('details > summary').click();
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).toContain(stack.lab.url);
    expect(await row.innerText()).toMatch(/Time taken\s*\d+(\.\d)? s/);
    await waitForBanner('ok');
    expect(await popup.locator('#agent-state').getAttribute('data-status')).toBe('ok');
    expect(await popup.locator('#agent-state .headline-text').textContent()).toBe('All good');
    const show = popup.locator(`li[data-download-id="${id}"] button.show`);
    await show.waitFor();
    expect(await show.getAttribute('aria-label')).toBe('Show clean.pdf in its folder');
    // Keyboard: the row and its button are reachable with Tab.
    await popup.locator(`li[data-download-id="${id}"]`).focus();
    await popup.keyboard.press('Tab');
    expect(await popup.evaluate('document.activeElement?.className')).toBe('show');
    await popupScreenshot(popup, 'popup-clean');
  });

  it('malicious: the threat, what was done, the quarantine list from this browser, and a restore request the administrator sees', async () => {
    const id = await startDownload(popup, server.fileUrl('eicar.com'));
    const text = await rowFor(
      id,
      (t) => t.includes('Malicious') && t.includes('Quarantine: done'),
      'a malicious verdict with its quarantine',
    );
    expect(text).toMatch(/EICAR/i);
    expect(await popup.locator(`li[data-download-id="${id}"]`).getAttribute('data-status')).toBe('blocked');
    // The quarantine section names the file and why it was taken.
    const item = popup.locator('ul.quarantine li.quarantine-item', { hasText: 'eicar.com' });
    await item.waitFor({ timeout: 30_000 });
    expect(await item.textContent()).toMatch(/EICAR/i);
    expect(await popup.locator('li.quarantine-item button.restore').count()).toBeGreaterThan(0);
    // No file to show: it is gone from the Downloads folder.
    expect(await popup.locator(`li[data-download-id="${id}"] button.show`).count()).toBe(0);
    await popupScreenshot(popup, 'popup-malicious');

    // Policy leaves restores to administrators: the button asks, the agent records it, the popup says so.
    const ask = popup.locator(`li[data-download-id="${id}"] button.restore`);
    expect(await ask.textContent()).toBe('Ask for restore');
    await ask.click();
    await rowFor(id, (t) => t.includes('Your administrator was asked to restore it.'), 'the popup to say the administrator was asked');
    const requested = await pollFor('a restore-requested event', () => stack.events().find((e) => e.type === 'restore-requested'));
    expect(requested.path).toBe(join(browser.downloadDir, 'eicar.com'));
    expect(existsSync(join(browser.downloadDir, 'eicar.com'))).toBe(false);
    await popupScreenshot(popup, 'popup-restore-requested');
  });

  let waitingId = 0;
  let queueFullId = 0;

  it('server unreachable: the banner says so with the remedy, and the download waits in the agent queue', async () => {
    const policy = JSON.parse(goodPolicy) as { sandbox: Record<string, unknown> };
    policy.sandbox['servers'] = [{ url: `https://127.0.0.1:${await closedPort()}` }];
    policy.sandbox['requestQueueMaxBytes'] = 6000;
    await restartAgentWith(JSON.stringify(policy));
    server.addFile('waiting.exe', setupExeBytes(), 'application/x-msdownload');
    waitingId = await startDownload(popup, server.fileUrl('waiting.exe'));
    await waitForBanner('servers-unreachable');
    expect(await popup.locator('#agent-state .remedy-servers-unreachable').textContent()).toContain('analysed as soon as a server answers');
    const text = await rowFor(waitingId, (t) => /Queued|Analysing/.test(t), 'the download to wait in the queue');
    expect(text).not.toContain('Clean');
    await popupScreenshot(popup, 'popup-server-unreachable');
  });

  it('queue full: a download the agent has no room for waits in the browser, and the popup says why', async () => {
    // 4096 bytes already queued of 6000: another 4096 do not fit.
    const bytes = setupExeBytes();
    bytes.write('second', 200, 'latin1');
    server.addFile('no-room.exe', bytes, 'application/x-msdownload');
    queueFullId = await startDownload(popup, server.fileUrl('no-room.exe'));
    await rowFor(queueFullId, (t) => t.includes("the agent's queue is full"), 'the queue-full state');
    await waitForBanner('queue-full');
    await popupScreenshot(popup, 'popup-queue-full');
  });

  it('a service-worker stop in the middle of an analysis loses nothing: both waiting downloads get their verdicts after it wakes', async () => {
    const ids = async (): Promise<string[]> => Object.keys((await extensionStorage(popup, 'sandgate.jobs')) as object).sort();
    const before = await ids();
    expect(before).toEqual(expect.arrayContaining([String(waitingId), String(queueFullId)]));
    await stopServiceWorker(browser);
    // The worker is stopped; every record is still there while it is.
    expect(await ids()).toEqual(before);
    // A server comes back while the worker is down; the agent restarts with it.
    await restartAgentWith(goodPolicy);
    // Any extension event wakes the worker; the popup's own request for the quarantine list is one.
    await popup.reload();
    await popup.waitForSelector('#app[aria-busy="false"]');
    await rowFor(waitingId, (t) => t.includes('Clean'), 'the verdict of the download queued before the stop');
    await rowFor(queueFullId, (t) => t.includes('Clean'), 'the verdict of the download the full queue refused');
    expect((await downloadItem(popup, queueFullId))?.exists).toBe(true);
  });

  it('agent stopped: "Not running", with how to start it; downloads wait in the browser until it is back', async () => {
    renameSync(stack.policyPath, `${stack.policyPath}.away`);
    try {
      await stack.stopAgent();
      await waitForBanner('not-running');
      expect(await popup.locator('#agent-state .remedy-not-running').textContent()).toContain('npx sandgate serve');
      server.addFile('while-down.pdf', cleanPdfBytes('while the agent is down'), 'application/pdf');
      const id = await startDownload(popup, server.fileUrl('while-down.pdf'));
      await rowFor(id, (t) => t.includes('Waiting for the agent'), 'the download to wait in the browser');
      await popupScreenshot(popup, 'popup-agent-stopped');
      renameSync(`${stack.policyPath}.away`, stack.policyPath);
      await rowFor(id, (t) => t.includes('Clean'), 'the download sent once the agent is back');
    } finally {
      if (existsSync(`${stack.policyPath}.away`)) renameSync(`${stack.policyPath}.away`, stack.policyPath);
    }
  });
});

describe('a browser without the native host', () => {
  it('not installed: the popup says so and how to install it', async () => {
    const bare = await launchBrowser({ env: stack.env });
    try {
      const page = await openPopup(bare);
      await pollFor('the not-installed banner', async () =>
        (await page.locator('#agent-state').getAttribute('data-conditions')) === 'not-installed' ? true : undefined,
      );
      expect(await page.locator('#agent-state .remedy').textContent()).toContain('npx sandgate install');
      await popupScreenshot(page, 'popup-not-installed');
    } finally {
      await bare.close();
    }
  });
});
