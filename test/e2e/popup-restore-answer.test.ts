/// <reference types="chrome" />
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import {
  createBrowserDirs,
  launchBrowser,
  openPopup,
  popupScreenshot,
  startDownload,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { pollFor, startStack, type Stack } from '#test-helpers/stack.ts';
import { loginAs, runConsoleCli, startConsoleProcess, type ConsoleProcess } from '../integration/console/console-process.ts';

const ADMIN_PASSWORD = 'admin-password-for-tests';

// Issue 17 end to end: the person clicks "Ask for restore" in the real popup of the built extension, their enrolled
// agent sends the request to a real console, the administrator answers, and the popup, opened again, says what the
// administrator decided. Debian Chromium, the bridge starting the agent, sandgate-lab and the console on loopback.
describe('the popup shows the administrator’s answer to "Ask for restore"', () => {
  let dirs: BrowserDirs;
  let stack: Stack;
  let server: DownloadServer;
  let browser: BrowserSession;
  let popup: Page;
  let consoleData: string;
  let console_: ConsoleProcess;
  let admin: Awaited<ReturnType<typeof loginAs>>;
  const env = { DATABASE_URL: undefined, SANDGATE_CONSOLE_DATA: undefined };

  /** The download's row once the popup, opened again, shows `text` (each opening asks the agent for the answers). */
  const rowAfterReopening = (id: number, text: string) =>
    pollFor(
      `the popup to say "${text}"`,
      async () => {
        await popup.reload();
        await popup.waitForSelector('#app[aria-busy="false"]');
        const row =
          (await popup
            .locator(`li[data-download-id="${id}"]`)
            .textContent({ timeout: 2000 })
            .catch(() => null)) ?? '';
        return row.includes(text) ? row : undefined;
      },
      90_000,
    );

  const openRequest = () =>
    pollFor(
      'the request in the console inbox',
      async () => {
        const { body } = await admin('GET', 'restore-requests?state=open');
        return (body.requests as Array<{ id: string; fileName: string }>).find((r) => r.fileName === 'eicar.com');
      },
      60_000,
    );

  beforeAll(async () => {
    consoleData = mkdtempSync(join(tmpdir(), 'sandgate-popup-console-'));
    console_ = await startConsoleProcess(['--data', consoleData, '--port', '0', '--admin-port', '0'], env);
    const cli = (args: string[], stdin?: string) => runConsoleCli([...args, '--data', consoleData], env, stdin);
    expect((await cli(['user', 'add', 'admin', '--role', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n')).code).toBe(0);
    admin = await loginAs(console_.info.adminUrl, readFileSync(join(consoleData, 'ca', 'ca-cert.pem'), 'utf8'), 'admin', ADMIN_PASSWORD);

    dirs = createBrowserDirs();
    stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
    stack.env.SANDGATE_CONSOLE_HEARTBEAT_MS = '1000';
    stack.env.SANDGATE_CONSOLE_RETRY_MAX_MS = '1000';
    const t = await cli(['token', 'create', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const enrolled = await stack.sandgate([
      'enroll',
      console_.info.agentUrl,
      JSON.parse(t.stdout).token,
      '--ca-fingerprint',
      console_.info.caFingerprint,
      '--json',
    ]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    await stack.registerNativeHost(dirs.userDataDir);
    server = await startDownloadServer();
    browser = await launchBrowser({ dirs, env: stack.env });
    popup = await openPopup(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await server?.close();
    await console_?.stop();
    if (dirs) rmSync(dirs.root, { recursive: true, force: true });
    if (consoleData) rmSync(consoleData, { recursive: true, force: true });
  });

  it('declined: "Your administrator declined: <reason>"; asked again and approved: "Restored by your administrator", the file back', async () => {
    const id = await startDownload(popup, server.fileUrl('eicar.com'));
    const path = join(dirs.downloadDir, 'eicar.com');
    await pollFor(
      'the download quarantined, with its restore button',
      async () => ((await popup.locator(`li[data-download-id="${id}"] button.restore`).count()) > 0 ? true : undefined),
      90_000,
    );
    expect(await popup.locator(`li[data-download-id="${id}"]`).getAttribute('data-status')).toBe('blocked');
    await popup.locator(`li[data-download-id="${id}"] button.restore`).click();
    await rowAfterReopening(id, 'Your administrator was asked to restore it.');

    const first = await openRequest();
    const declined = await admin('POST', `restore-requests/${first.id}/decline`, {
      reason: 'It really is malware. Ask IT for the clean installer.',
    });
    expect(declined.status, JSON.stringify(declined.body)).toBe(200);
    await rowAfterReopening(id, 'Your administrator declined: It really is malware. Ask IT for the clean installer.');
    await popupScreenshot(popup, 'popup-restore-declined');
    expect(existsSync(path)).toBe(false);

    // Declined, the person may ask again; this time the administrator approves.
    await popup.locator(`li[data-download-id="${id}"] button.restore`).click();
    const second = await openRequest();
    expect(second.id).not.toBe(first.id);
    const approved = await admin('POST', `restore-requests/${second.id}/approve`, {});
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await rowAfterReopening(id, 'Restored by your administrator.');
    expect(existsSync(path)).toBe(true);
    expect(await popup.locator(`li[data-download-id="${id}"]`).getAttribute('data-status')).toBe('ok');
    await popupScreenshot(popup, 'popup-restored-by-admin');
  });
});
