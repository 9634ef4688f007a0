/// <reference types="chrome" />
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { policySchema, statusResultSchema, type StatusResult } from '@sandgate/shared';
import { startLab, type RunningLab } from '#lab/lab-server.ts';
import { startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import {
  createBrowserDirs,
  downloadItem,
  launchBrowser,
  openPopup,
  startDownload,
  type BrowserDirs,
  type BrowserSession,
} from '#test-helpers/browser.ts';
import { pollFor, startStack, type Stack, quarantineList as quarantineListOf } from '#test-helpers/stack.ts';

// Issue 7, "survives a browser restart": the person closes the browser while two downloads are still being analysed,
// the agent (which outlives the browser) gets both verdicts and quarantines the EICAR with no browser open, and when
// the browser is opened again on the same profile the popup shows both final states. Debian Chromium, the built
// extension, the bridge starting the agent, sandgate-lab on loopback.
//
// Rather than race a timer, the lab is a gate: it first runs with an analysis delay far longer than the test, so both
// objects are certain to be still analysing when the browser closes; the gate opens by restarting the lab on the same
// port and data folder without the delay, which resumes the interrupted analyses (AnalysisService.resume). Outcomes
// are polled; durations are never asserted.

const GATE_DELAY_MS = 60 * 60_000;

let dirs: BrowserDirs;
let stack: Stack;
let server: DownloadServer;
let lab: RunningLab | undefined;
let labDir: string;
let browser: BrowserSession | undefined;
let popup: Page;

beforeAll(async () => {
  dirs = createBrowserDirs();
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  labDir = join(stack.root, 'slow-lab');
  lab = await startLab({ port: 0, host: '127.0.0.1', dataDir: labDir, analysisDelayMs: GATE_DELAY_MS });
  // The stack's own lab answers at once; the agent (not started yet: the bridge starts it) is pointed at the slow one.
  const policy = JSON.parse(readFileSync(stack.policyPath, 'utf8')) as { sandbox: Record<string, unknown> };
  policy.sandbox['servers'] = [{ url: lab.url, token: lab.token }];
  policy.sandbox['serverCertificate'] = lab.certPath;
  policySchema.parse(policy);
  writeFileSync(stack.policyPath, JSON.stringify(policy, null, 2), { mode: 0o600 });
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
  // The browser first (it holds the bridge), then the lab and the agent, then the folders.
  await browser?.close();
  await lab?.close();
  await stack?.close();
  await server?.close();
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
});

/** The popup's state text for one download, once `ready` accepts the row's whole text. */
async function rowState(page: Page, downloadId: number, ready: (text: string) => boolean, what: string): Promise<string> {
  const row = page.locator(`li[data-download-id="${downloadId}"]`);
  let last: string | null = null;
  await pollFor(
    what,
    async () => {
      last = await row.textContent({ timeout: 1000 }).catch(() => null);
      return last !== null && ready(last) ? true : undefined;
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the row read: ${last ?? '(no row)'}`);
  });
  return (await row.locator('dd.state').textContent()) ?? '';
}

async function agentStatus(): Promise<StatusResult> {
  const r = await stack.sandgate(['status', '--json']);
  if (r.code !== 0) throw new Error(`sandgate status exited ${r.code}: ${r.stderr}`);
  return statusResultSchema.parse(JSON.parse(r.stdout));
}

const quarantineList = () => quarantineListOf(stack);

describe('a browser restart in the middle of an analysis', () => {
  it('loses nothing: verdicts reached while the browser was closed are in the popup when it opens again, and the EICAR is in quarantine', async () => {
    const session = browser!;
    const cleanPath = join(session.downloadDir, 'clean.pdf');
    const eicarPath = join(session.downloadDir, 'eicar.com');
    const cleanId = await startDownload(popup, server.fileUrl('clean.pdf'));
    const eicarId = await startDownload(popup, server.fileUrl('eicar.com'));

    // What the person sees before closing the browser: both still being analysed.
    expect(await rowState(popup, cleanId, (t) => t.includes('Analysing'), 'clean.pdf to be analysing')).toBe('Analysing');
    expect(await rowState(popup, eicarId, (t) => t.includes('Analysing'), 'eicar.com to be analysing')).toBe('Analysing');
    const before = await agentStatus();
    for (const path of [cleanPath, eicarPath]) expect(before.recent.find((j) => j.path === path)).toMatchObject({ state: 'analysing' });
    expect(before.recent.some((j) => j.level !== undefined)).toBe(false);

    // The whole browser closes (the bridge goes with it); the agent it started keeps running on its own.
    await session.close();
    browser = undefined;
    expect((await agentStatus()).pid).toBe(before.pid);

    // The gate opens: the lab comes back without its delay and finishes the analyses it had queued.
    const port = lab!.port;
    await lab!.close();
    lab = await startLab({ port, host: '127.0.0.1', dataDir: labDir });

    // With no browser open, the agent judges both and quarantines the EICAR.
    const judged = await pollFor(
      'the agent to judge both downloads',
      async () => {
        const recent = (await agentStatus()).recent;
        const clean = recent.find((j) => j.path === cleanPath);
        const eicar = recent.find((j) => j.path === eicarPath);
        return clean?.level && eicar?.level ? { clean, eicar } : undefined;
      },
      60_000,
    );
    expect(judged.clean.level).toBe('clean');
    expect(judged.eicar.level).toBe('malicious');
    const quarantined = await pollFor('EICAR in the quarantine', async () =>
      (await quarantineList()).find((q) => q.originalPath === eicarPath),
    );
    expect(quarantined.threat).toMatch(/EICAR/i);
    expect(existsSync(eicarPath)).toBe(false);
    expect((await agentStatus()).pid).toBe(before.pid);

    // The person opens the browser again, on the same profile.
    browser = await launchBrowser({ dirs, env: stack.env, reuseProfile: true });
    popup = await openPopup(browser);
    expect(await rowState(popup, cleanId, (t) => t.includes('Clean'), 'the clean verdict in the popup after the restart')).toBe('Clean');
    expect(
      await rowState(
        popup,
        eicarId,
        (t) => t.includes('Malicious') && t.includes('Quarantine: done'),
        'the malicious verdict and its quarantine after the restart',
      ),
    ).toBe('Malicious');
    const eicarRow = popup.locator(`li[data-download-id="${eicarId}"]`);
    expect(await eicarRow.locator('dd.threat').textContent()).toMatch(/EICAR/i);
    expect(await eicarRow.locator('dd.server').textContent()).toBe(lab.url);
    // Each download once: the restart neither lost a record nor made a second one.
    expect(await popup.locator('li.download').count()).toBe(2);
    // The quarantine section lists it too, and there is no file left to show.
    await popup.locator('ul.quarantine li.quarantine-item', { hasText: 'eicar.com' }).waitFor({ timeout: 30_000 });
    expect(await eicarRow.locator('button.show').count()).toBe(0);
    // The clean file is where it was, untouched, and the browser still knows it under the same download id.
    await popup.locator(`li[data-download-id="${cleanId}"] button.show`).waitFor({ timeout: 30_000 });
    expect((await downloadItem(popup, cleanId))?.filename).toBe(cleanPath);
    expect(readFileSync(cleanPath).equals(server.files.get('clean.pdf')!.body)).toBe(true);

    // The agent saw each object once: nothing was submitted again when the browser came back.
    for (const path of [cleanPath, eicarPath]) {
      expect(stack.events().filter((e) => e.type === 'object-accepted' && e.path === path)).toHaveLength(1);
    }
    expect((await quarantineList()).filter((q) => q.originalPath === eicarPath)).toHaveLength(1);
    expect(existsSync(eicarPath)).toBe(false);
  });
});
