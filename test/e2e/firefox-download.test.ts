import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  FIREFOX_EXTENSION_ID,
  NATIVE_HOST_NAME,
  quarantineListItemSchema,
  statusResultSchema,
  type QuarantineListItem,
} from '@sandgate/shared';
import { startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import { EXTENSION_JOBS_KEY, findExtensionVerdict } from '#test-helpers/browser.ts';
import {
  createFirefoxDirs,
  launchFirefox,
  removeFirefoxDirs,
  writeFirefoxManagedStorage,
  type FirefoxDirs,
  type FirefoxSession,
} from '#test-helpers/firefox.ts';
import { labKnows, pollFor, runSandgate, startStack, type Stack } from '#test-helpers/stack.ts';

// Issue 6, Firefox: Debian's firefox-esr with the built Firefox MV3 extension as a temporary add-on, the native host
// registered by `sandgate install --browser firefox` into the browser's own HOME (~/.mozilla/native-messaging-hosts),
// the bridge starting the agent on the first connection, and sandgate-lab on loopback. Driven over WebDriver BiDi
// (toolchain.md §8). Outcomes are polled with a generous deadline; durations are never asserted.

const downloadSchema = z.object({ id: z.number(), state: z.string(), filename: z.string() });
type Download = z.infer<typeof downloadSchema>;

/** One Firefox with everything behind it; each scenario gets its own, so policy cannot leak from one to the other. */
interface FirefoxRun {
  dirs: FirefoxDirs;
  stack: Stack;
  server: DownloadServer;
  firefox: FirefoxSession;
}

async function startFirefoxRun(opts: { managedStorage?: Record<string, unknown> } = {}): Promise<FirefoxRun> {
  const run: Partial<FirefoxRun> = {};
  try {
    run.dirs = createFirefoxDirs();
    if (opts.managedStorage) writeFirefoxManagedStorage(run.dirs.home, opts.managedStorage);
    // The agent is not started here: the bridge must start it when the extension first connects.
    run.stack = await startStack({ startAgent: false, capture: { downloadDirs: [run.dirs.downloadDir] } });
    const install = await runSandgate(['install', '--browser', 'firefox'], { env: { ...run.stack.env, HOME: run.dirs.home } });
    if (install.code !== 0) throw new Error(`sandgate install --browser firefox failed (exit ${install.code}): ${install.stderr}`);
    run.server = await startDownloadServer();
    run.firefox = await launchFirefox({ dirs: run.dirs, env: run.stack.env });
    await run.firefox.navigate(run.firefox.pageContext, run.server.pageUrl);
    return run as FirefoxRun;
  } catch (err) {
    await stopFirefoxRun(run);
    throw err;
  }
}

async function stopFirefoxRun(run: Partial<FirefoxRun> | undefined): Promise<void> {
  // The browser first (it holds the bridge), then the agent and lab, then the folders.
  await run?.firefox?.close();
  await run?.stack?.close();
  await run?.server?.close();
  removeFirefoxDirs(run?.dirs);
}

function printLogsOnFailure(run: FirefoxRun | undefined, failed: boolean): void {
  if (!failed || !run) return;
  const bridgeLog = join(run.stack.paths.logs, 'native-host.log');
  process.stderr.write(`--- agent log ---\n${run.stack.agentLog()}\n`);
  if (existsSync(bridgeLog)) process.stderr.write(`--- bridge log ---\n${readFileSync(bridgeLog, 'utf8').slice(-10_000)}\n`);
  process.stderr.write(`--- firefox ---\n${run.firefox.log()}\n`);
}

/** Clicks the page's `<a download>` link (with user activation, as a person's click) and returns the finished download. */
async function download(run: FirefoxRun, name: string): Promise<Download> {
  const { firefox } = run;
  const url = run.server.fileUrl(name);
  await firefox.evaluate(firefox.pageContext, `document.getElementById(${JSON.stringify(name)}).click()`, { userActivation: true });
  return pollFor(`Firefox to finish the download of ${url}`, async () => {
    const items = z
      .array(downloadSchema)
      .parse(await firefox.evaluate(firefox.extensionContext, `browser.downloads.search({ url: ${JSON.stringify(url)} })`));
    return items.find((d) => d.state === 'complete');
  });
}

/** The extension's job records, read with its own privileges from its popup page. */
async function extensionJobs(run: FirefoxRun): Promise<unknown> {
  return run.firefox.evaluate(run.firefox.extensionContext, `browser.storage.local.get(${JSON.stringify(EXTENSION_JOBS_KEY)})`);
}

async function quarantineList(run: FirefoxRun): Promise<QuarantineListItem[]> {
  const r = await run.stack.sandgate(['quarantine', 'list', '--json']);
  if (r.code !== 0) throw new Error(`quarantine list exited ${r.code}: ${r.stderr}`);
  return quarantineListItemSchema.array().parse(JSON.parse(r.stdout));
}

async function recentJobs(run: FirefoxRun) {
  const status = await run.stack.sandgate(['status', '--json']);
  if (status.code !== 0) throw new Error(`status exited ${status.code}: ${status.stderr}`);
  return statusResultSchema.parse(JSON.parse(status.stdout)).recent;
}

describe('a download in Firefox reaches the sandbox', () => {
  let run: FirefoxRun;
  beforeAll(async () => {
    run = await startFirefoxRun();
  });
  afterEach(({ task }) => printLogsOnFailure(run, task.result?.state === 'fail'));
  afterAll(() => stopFirefoxRun(run));

  it('the add-on runs under its fixed ID, which the host manifest in HOME allows', () => {
    expect(run.firefox.extensionId).toBe(FIREFOX_EXTENSION_ID);
    const path = join(run.dirs.home, '.mozilla/native-messaging-hosts', `${NATIVE_HOST_NAME}.json`);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(manifest['allowed_extensions']).toContain(FIREFOX_EXTENSION_ID);
    expect(manifest['allowed_origins']).toBeUndefined();
  });

  it('EICAR is moved from the download folder into quarantine, and the extension and its popup name the threat', async () => {
    const path = join(run.dirs.downloadDir, 'eicar.com');
    const item = await download(run, 'eicar.com');
    expect(item.filename).toBe(path);

    const q = await pollFor('EICAR in the quarantine', async () => (await quarantineList(run)).find((i) => i.originalPath === path));
    expect(q.threat).toMatch(/EICAR/i);
    await pollFor('the original to be deleted', () => (existsSync(path) ? undefined : true));
    expect((await quarantineList(run)).filter((i) => i.originalPath === path)).toHaveLength(1);

    const shown = await pollFor('the extension to record the malicious verdict', async () => {
      const v = findExtensionVerdict(await extensionJobs(run), item.id);
      return v?.level === 'malicious' ? v : undefined;
    });
    expect(shown.threat ?? '').toMatch(/EICAR/i);
    expect(run.stack.events().filter((e) => e.path === path && e.type === 'object-accepted')).toHaveLength(1);

    // What the person sees in the toolbar popup: the file, named as a threat.
    const { firefox } = run;
    await firefox.navigate(firefox.extensionContext, `${firefox.extensionOrigin}/popup.html`);
    const label = await pollFor('the popup to list the download', async () => {
      const l = await firefox.evaluate(
        firefox.extensionContext,
        `document.querySelector('#app[aria-busy="false"] [data-download-id="${item.id}"]')?.getAttribute('aria-label')`,
      );
      return typeof l === 'string' ? l : undefined;
    });
    expect(label).toMatch(/^eicar\.com, .*EICAR/);
  });

  it('a clean PDF gets a clean verdict and stays byte-identical; a .png is never submitted', async () => {
    const png = await download(run, 'picture.png');
    const pngPath = join(run.dirs.downloadDir, 'picture.png');
    const pdfPath = join(run.dirs.downloadDir, 'clean.pdf');
    // The PDF comes after the PNG, so once its verdict is in, a PNG submission would have reached the agent.
    const pdf = await download(run, 'clean.pdf');
    expect(pdf.filename).toBe(pdfPath);
    const shown = await pollFor('the extension to record a clean verdict for the PDF', async () => {
      const v = findExtensionVerdict(await extensionJobs(run), pdf.id);
      return v?.level === 'clean' ? v : undefined;
    });
    expect(shown.level).toBe('clean');

    const recent = await recentJobs(run);
    expect(recent.find((j) => j.path === pdfPath)?.level).toBe('clean');
    expect(readFileSync(pdfPath).equals(run.server.files.get('clean.pdf')!.body)).toBe(true);
    expect((await quarantineList(run)).filter((i) => i.originalPath === pdfPath)).toHaveLength(0);

    expect(recent.some((j) => j.path === pngPath)).toBe(false);
    expect(await labKnows(run.stack.lab, run.server.files.get('picture.png')!.body)).toBe(false);
    expect(findExtensionVerdict(await extensionJobs(run), png.id)).toBeUndefined();
    expect(readFileSync(pngPath).equals(run.server.files.get('picture.png')!.body)).toBe(true);
  });
});

describe('in Firefox, an administrator decides what the extension captures', () => {
  let run: FirefoxRun;
  const TEXT = Buffer.from('Minutes of the Firefox policy meeting.\n', 'utf8');
  beforeAll(async () => {
    // Firefox's per-user managed storage: "only .txt, no MIME type", replacing both default lists.
    run = await startFirefoxRun({ managedStorage: { capture: { fileExtensions: ['txt'], mimeTypes: [] } } });
    run.server.addFile('minutes.txt', TEXT, 'text/plain');
    await run.firefox.navigate(run.firefox.pageContext, run.server.pageUrl);
  });
  afterEach(({ task }) => printLogsOnFailure(run, task.result?.state === 'fail'));
  afterAll(() => stopFirefoxRun(run));

  it('a .txt is judged and a PDF, captured by default, is left alone', async () => {
    const settings = await pollFor('the extension to apply the policy', async () => {
      const s = z
        .object({ 'sandgate.settings': z.object({ fileExtensions: z.array(z.string()), locked: z.array(z.string()) }).optional() })
        .parse(await run.firefox.evaluate(run.firefox.extensionContext, `browser.storage.local.get('sandgate.settings')`))[
        'sandgate.settings'
      ];
      return s?.locked.includes('fileExtensions') ? s : undefined;
    });
    expect(settings.fileExtensions).toEqual(['txt']);

    const pdf = await download(run, 'clean.pdf');
    const txt = await download(run, 'minutes.txt');
    const shown = await pollFor('the extension to record a verdict for the .txt', async () => {
      const v = findExtensionVerdict(await extensionJobs(run), txt.id);
      return v ? v : undefined;
    });
    expect(shown.level).toBe('clean');
    expect(await labKnows(run.stack.lab, TEXT)).toBe(true);

    expect(findExtensionVerdict(await extensionJobs(run), pdf.id)).toBeUndefined();
    expect((await recentJobs(run)).some((j) => j.path === pdf.filename)).toBe(false);
    expect(await labKnows(run.stack.lab, run.server.files.get('clean.pdf')!.body)).toBe(false);
  });
});
