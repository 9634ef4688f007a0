/// <reference types="chrome" />
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { eicarBytes, setupExeBytes, startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import {
  builtExtensionId,
  createBrowserDirs,
  downloadItem,
  extensionStorage,
  launchBrowser,
  openPopup,
  popupScreenshot,
  startDownload,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { pollFor, startStack, type Stack, quarantineList as quarantineListOf } from '#test-helpers/stack.ts';

// Issue 7, pending-verdict hold, in a real browser. Enterprise policy (managed storage, through Chromium's policy
// folder: toolchain.md §7) says executables and .com files are held until a clean verdict. A held download lands under
// `<name>.sandgate-hold` (downloads.onDeterminingFilename) and the agent publishes it under its final name only after a
// clean verdict; a malicious one is quarantined from its held name and never appears under its own.

const POLICY_DIR = '/etc/chromium/policies/managed';
const POLICY_FILE = join(POLICY_DIR, 'sandgate-e2e-hold.json');

let dirs: BrowserDirs;
let stack: Stack;
let server: DownloadServer;
let browser: BrowserSession;
let popup: Page;
let goodPolicy: string;

beforeAll(async () => {
  mkdirSync(POLICY_DIR, { recursive: true });
  const pendingVerdict = { default: 'allow', byExtension: { exe: 'hold', com: 'hold' }, onUnavailable: 'keep' };
  writeFileSync(POLICY_FILE, JSON.stringify({ '3rdparty': { extensions: { [builtExtensionId()]: { capture: { pendingVerdict } } } } }));
  dirs = createBrowserDirs();
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  goodPolicy = readFileSync(stack.policyPath, 'utf8');
  await stack.registerNativeHost(dirs.userDataDir);
  server = await startDownloadServer();
  browser = await launchBrowser({ dirs, env: stack.env });
  popup = await openPopup(browser);
  // The first managed-storage read blocks until Chromium has loaded policy; after it the worker holds by policy.
  await pollFor('the extension to apply the hold policy', async () => {
    const s = (await extensionStorage(popup, 'sandgate.settings')) as { locked?: string[] } | undefined;
    return s?.locked?.includes('pendingVerdict') ? true : undefined;
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

const quarantineList = () => quarantineListOf(stack);

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function record(id: number): Promise<Record<string, unknown> | undefined> {
  const jobs = (await extensionStorage(popup, 'sandgate.jobs')) as Record<string, Record<string, unknown>> | undefined;
  return jobs?.[String(id)];
}

describe('a download held until its verdict', () => {
  it('a held executable cannot be found under its final name before the verdict, and appears byte-identical after a clean one', async () => {
    // No server reachable yet, so no verdict can come: the download must stay held ("keep").
    const policy = JSON.parse(goodPolicy) as { sandbox: Record<string, unknown> };
    policy.sandbox['servers'] = [{ url: `https://127.0.0.1:${await closedPort()}` }];
    writeFileSync(stack.policyPath, JSON.stringify(policy), { mode: 0o600 });
    await stack.stopAgent();

    const bytes = setupExeBytes();
    bytes.write('held executable', 300, 'latin1');
    server.addFile('held-app.exe', bytes, 'application/x-msdownload');
    const finalPath = join(browser.downloadDir, 'held-app.exe');
    const heldPath = `${finalPath}.sandgate-hold`;
    const id = await startDownload(popup, server.fileUrl('held-app.exe'));
    await pollFor('the held download to complete', async () => ((await downloadItem(popup, id))?.state === 'complete' ? true : undefined));
    expect((await downloadItem(popup, id))?.filename).toBe(heldPath);
    expect(existsSync(finalPath)).toBe(false);
    const held = await pollFor('the agent to accept the held download', async () => {
      const r = await record(id);
      return r?.['submitted'] === true && r['jobId'] ? r : undefined;
    });
    expect(held).toMatchObject({ hold: 'held', fileName: 'held-app.exe' });
    expect(['queued', 'analysing']).toContain(held['state']);
    expect(existsSync(finalPath)).toBe(false);
    await popup.locator(`li[data-download-id="${id}"] .hold`).waitFor();
    expect(await popup.locator(`li[data-download-id="${id}"] .hold`).textContent()).toContain('Held until a clean verdict');
    await popupScreenshot(popup, 'popup-held');

    // A server is back: the verdict comes, and only then the file appears under its name.
    writeFileSync(stack.policyPath, goodPolicy, { mode: 0o600 });
    await stack.stopAgent();
    await pollFor('the released file under its final name', () => (existsSync(finalPath) ? true : undefined), 60_000);
    expect(readFileSync(finalPath).equals(bytes)).toBe(true);
    expect(existsSync(heldPath)).toBe(false);
    const released = await pollFor('the record to say released', async () => {
      const r = await record(id);
      return r?.['hold'] === 'released' ? r : undefined;
    });
    expect(released).toMatchObject({ state: 'clean', path: finalPath });
    expect(stack.events().some((e) => e.type === 'held-released' && e.path === finalPath)).toBe(true);
    await popup.locator(`li[data-download-id="${id}"] button.show`).waitFor();
    await popupScreenshot(popup, 'popup-released');
  });

  it('a held EICAR never appears under its own name and ends in quarantine', async () => {
    server.addFile('held-eicar.com', eicarBytes(), 'application/octet-stream');
    const finalPath = join(browser.downloadDir, 'held-eicar.com');
    const heldPath = `${finalPath}.sandgate-hold`;
    const id = await startDownload(popup, server.fileUrl('held-eicar.com'));
    let everSeen = false;
    const item = await pollFor('the held EICAR in the quarantine', async () => {
      everSeen ||= existsSync(finalPath);
      return (await quarantineList()).find((q) => q.originalPath === heldPath);
    });
    expect(item.threat).toMatch(/EICAR/i);
    await pollFor('the record to show the quarantine', async () => {
      everSeen ||= existsSync(finalPath);
      const r = await record(id);
      return r?.['state'] === 'malicious' && r['quarantineId'] ? r : undefined;
    });
    expect(everSeen).toBe(false);
    expect(existsSync(finalPath)).toBe(false);
    expect(existsSync(heldPath)).toBe(false);
    await popup.locator('li.quarantine-item', { hasText: 'held-eicar.com' }).waitFor();
    await popupScreenshot(popup, 'popup-held-malicious');
  });
});
