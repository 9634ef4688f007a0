/// <reference types="chrome" />
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { z } from 'zod';
import { verdictLevelSchema, type VerdictLevel } from '@sandgate/shared';

/**
 * Debian Chromium with the built Sandgate extension, the way toolchain.md §4 and §6.1 found to work: a persistent
 * context (extensions need one), `--load-extension` plus `--disable-extensions-except`, the network-quietening flags,
 * and real download behaviour (Preferences plus CDP `Browser.setDownloadBehavior {behavior:'default'}`), because
 * Playwright's default turns every download into an extension-less GUID file the extension would see instead.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const EXTENSION_BUILD_DIR = resolve(import.meta.dirname, '../../extension/.output/chrome-mv3');

/** The folders one browser run uses; made before launch so the native host can be registered into the profile. */
export interface BrowserDirs {
  /** Parent temp folder; removing it removes the rest. */
  root: string;
  userDataDir: string;
  downloadDir: string;
}

export function createBrowserDirs(parent?: string): BrowserDirs {
  const root = parent ?? mkdtempSync(join(tmpdir(), 'sandgate-browser-'));
  const userDataDir = join(root, 'profile');
  const downloadDir = join(root, 'Downloads');
  mkdirSync(join(userDataDir, 'Default'), { recursive: true });
  mkdirSync(downloadDir, { recursive: true });
  return { root, userDataDir, downloadDir };
}

/** Chromium's extension ID from a manifest `key`: SHA-256 of the DER public key, first 32 hex digits mapped to a–p. */
export function extensionIdFromKey(keyBase64: string): string {
  return createHash('sha256')
    .update(Buffer.from(keyBase64, 'base64'))
    .digest('hex')
    .slice(0, 32)
    .replace(/[0-9a-f]/g, (c) => String.fromCharCode(97 + parseInt(c, 16)));
}

export function builtExtensionId(extensionPath = EXTENSION_BUILD_DIR): string {
  const manifest = JSON.parse(readFileSync(join(extensionPath, 'manifest.json'), 'utf8')) as { key?: unknown };
  if (typeof manifest.key !== 'string')
    throw new Error(`${extensionPath}/manifest.json has no "key"; the extension ID would not be stable`);
  return extensionIdFromKey(manifest.key);
}

export interface LaunchOptions {
  /** Made with {@link createBrowserDirs}; when absent, fresh ones are made and removed on close. */
  dirs?: BrowserDirs;
  /** The browser's environment; the native host it spawns inherits it (SANDGATE_HOME, PATH with the pinned node). */
  env?: NodeJS.ProcessEnv;
  extensionPath?: string;
  /**
   * A browser restart on the profile an earlier launch used (`dirs` from that launch): the Preferences Chromium saved
   * on exit are kept as they are instead of being written afresh, as they would be for a person reopening the browser.
   */
  reuseProfile?: boolean;
}

export interface BrowserSession {
  context: BrowserContext;
  /** The extension's service worker. */
  sw: Worker;
  extensionId: string;
  downloadDir: string;
  userDataDir: string;
  /** What the extension's service worker wrote to its console, with times: printed by tests when they fail. */
  workerConsole(): string;
  /** Closes the browser and removes the temp folders this helper made. Safe to call twice. */
  close(): Promise<void>;
}

/** Chromium reads these at start; prompt_for_download=false is what lets a click save without a dialog. */
function writePreferences(dirs: BrowserDirs): void {
  writeFileSync(
    join(dirs.userDataDir, 'Default', 'Preferences'),
    JSON.stringify({
      download: { default_directory: dirs.downloadDir, prompt_for_download: false, directory_upgrade: true },
      // Several downloads from one page (the benchmark makes 50) would otherwise wait on a permission prompt.
      profile: { default_content_setting_values: { automatic_downloads: 1 } },
    }),
  );
}

/**
 * The same Chromium on the same kind of profile with no extension at all: what a person had before installing
 * Sandgate (or while it was being updated). Downloads are saved by the browser itself, as with the extension.
 */
export async function launchBrowserWithoutExtension(dirs: BrowserDirs): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} not found: apt-get install -y chromium`);
  writePreferences(dirs);
  const context = await chromium.launchPersistentContext(dirs.userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: BROWSER_ARGS,
  });
  try {
    await saveDownloadsAsTheBrowserDoes(context);
    return context;
  } catch (err) {
    await context.close();
    throw err;
  }
}

const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
];

/** Playwright takes downloads over by default; here Chromium saves them itself, into the profile's download folder. */
async function saveDownloadsAsTheBrowserDoes(context: BrowserContext): Promise<void> {
  const cdp = await context.browser()!.newBrowserCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'default' });
  await cdp.detach();
}

export async function launchBrowser(opts: LaunchOptions = {}): Promise<BrowserSession> {
  const extensionPath = opts.extensionPath ?? EXTENSION_BUILD_DIR;
  if (!existsSync(join(extensionPath, 'manifest.json'))) {
    throw new Error(`no built extension at ${extensionPath}: run \`npm run build -w extension\` first`);
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} not found: apt-get install -y chromium`);
  const extensionId = builtExtensionId(extensionPath);
  const ownDirs = !opts.dirs;
  const dirs = opts.dirs ?? createBrowserDirs();

  const preferences = join(dirs.userDataDir, 'Default', 'Preferences');
  if (!opts.reuseProfile || !existsSync(preferences)) writePreferences(dirs);

  let context: BrowserContext | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await context?.close();
    } finally {
      if (ownDirs) rmSync(dirs.root, { recursive: true, force: true });
    }
  };

  try {
    context = await chromium.launchPersistentContext(dirs.userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      env: { ...(opts.env ?? process.env) } as Record<string, string>,
      args: [`--disable-extensions-except=${extensionPath}`, `--load-extension=${extensionPath}`, ...BROWSER_ARGS],
    });
    await saveDownloadsAsTheBrowserDoes(context);

    const isOurs = (w: Worker): boolean => w.url().startsWith(`chrome-extension://${extensionId}/`);
    const sw =
      context.serviceWorkers().find(isOurs) ?? (await context.waitForEvent('serviceworker', { predicate: isOurs, timeout: 30_000 }));
    // The worker's target exists before its script has run. A download that reaches Chromium before the extension has
    // registered its listeners is never shown to it (a freshly loaded extension has no listeners on record to wake it
    // for), so a test clicking at once raced the extension's start and sometimes lost (seen in CI as a download that
    // completed and was never captured). Ready means the capture's listener is registered.
    const deadline = Date.now() + 30_000;
    while (!(await sw.evaluate(() => chrome.downloads.onChanged.hasListeners()).catch(() => false))) {
      if (Date.now() > deadline) throw new Error('the extension registered no downloads listener within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Every instance of the extension's worker (Chromium may stop one and start another), each line with its instance.
    const consoleLines: string[] = [];
    let instances = 0;
    const listen = (w: Worker) => {
      const n = ++instances;
      consoleLines.push(`${new Date().toISOString()} [worker ${n} ${w === sw ? "the test's handle" : 'a new instance'}] started`);
      w.on('console', (m) => consoleLines.push(`${new Date().toISOString()} [worker ${n}] ${m.type()} ${m.text()}`.slice(0, 2000)));
      w.on('close', () => consoleLines.push(`${new Date().toISOString()} [worker ${n}] closed`));
    };
    listen(sw);
    context.on('serviceworker', (w) => {
      if (isOurs(w) && w !== sw) listen(w);
    });
    return {
      context,
      sw,
      extensionId,
      downloadDir: dirs.downloadDir,
      userDataDir: dirs.userDataDir,
      workerConsole: () => consoleLines.slice(-200).join('\n'),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface ExtensionVerdict {
  level: VerdictLevel;
  threat?: string;
  path?: string;
}

/** Storage key of the extension's job records (extension/README.md, "Storage"): `{ [downloadId]: JobRecord }`. */
export const EXTENSION_JOBS_KEY = 'sandgate.jobs';

// Only the fields the tests read; the extension owns the rest of the record.
const jobRecordSchema = z.looseObject({
  state: z.string(),
  path: z.string().optional(),
  threat: z.string().optional(),
});
const jobsSchema = z.record(z.string(), jobRecordSchema);

/**
 * The verdict the extension has stored for one download, read from `browser.storage.local` in its service worker;
 * `undefined` while it has none (not captured, or still queued or analysing).
 */
export async function extensionVerdictFor(sw: Worker, downloadId: number): Promise<ExtensionVerdict | undefined> {
  const snapshot = await sw.evaluate((key) => chrome.storage.local.get(key), EXTENSION_JOBS_KEY);
  return findExtensionVerdict(snapshot, downloadId);
}

/** Whether the extension has any record of a download (a capture), verdict or not. */
export async function extensionHasJob(sw: Worker, downloadId: number): Promise<boolean> {
  const snapshot = await sw.evaluate((key) => chrome.storage.local.get(key), EXTENSION_JOBS_KEY);
  const jobs = jobsSchema.safeParse((snapshot as Record<string, unknown>)[EXTENSION_JOBS_KEY] ?? {});
  return jobs.success && jobs.data[String(downloadId)] !== undefined;
}

/** The verdict for one download inside a storage snapshot or a `storage.onChanged` set of new values, if any. */
export function findExtensionVerdict(snapshot: unknown, downloadId: number): ExtensionVerdict | undefined {
  if (!snapshot || typeof snapshot !== 'object') return undefined;
  const jobs = jobsSchema.safeParse((snapshot as Record<string, unknown>)[EXTENSION_JOBS_KEY]);
  if (!jobs.success) return undefined;
  const job = jobs.data[String(downloadId)];
  const level = verdictLevelSchema.safeParse(job?.state);
  if (!job || !level.success) return undefined;
  return { level: level.data, ...(job.threat ? { threat: job.threat } : {}), ...(job.path ? { path: job.path } : {}) };
}

/**
 * Where the e2e tier writes popup screenshots. The README's copies in docs/screenshots are refreshed only on request
 * (`SANDGATE_SCREENSHOTS=docs npm run test:e2e`), so an ordinary test run leaves the working tree clean.
 */
export const SCREENSHOT_DIR =
  process.env.SANDGATE_SCREENSHOTS === 'docs'
    ? resolve(import.meta.dirname, '../../docs/screenshots')
    : join(tmpdir(), 'sandgate-e2e-screenshots');

/**
 * The popup opened as a tab (`chrome-extension://<id>/popup.html`) at a fixed size, as the toolbar shows it. An
 * extension page has the extension's `chrome.*` APIs, so tests can also start downloads and read storage from it
 * without evaluating in the service worker, which hangs while the worker is stopped (toolchain.md §4).
 */
export async function openPopup(session: BrowserSession): Promise<Page> {
  const page = await session.context.newPage();
  await page.setViewportSize({ width: 420, height: 640 });
  await page.goto(`chrome-extension://${session.extensionId}/popup.html`);
  await page.waitForSelector('#app[aria-busy="false"]');
  return page;
}

export async function popupScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Starts a download from an extension page; resolves with the browser's download id. */
export async function startDownload(extensionPage: Page, url: string): Promise<number> {
  return extensionPage.evaluate((u) => chrome.downloads.download({ url: u }), url);
}

/** One download as the browser reports it, read from an extension page. */
export async function downloadItem(extensionPage: Page, id: number): Promise<chrome.downloads.DownloadItem | undefined> {
  return extensionPage.evaluate(async (i) => (await chrome.downloads.search({ id: i }))[0], id);
}

/** `chrome.storage.local` of the extension, read from an extension page. */
export async function extensionStorage(extensionPage: Page, key: string): Promise<unknown> {
  return extensionPage.evaluate(async (k) => (await chrome.storage.local.get(k))[k], key);
}

/**
 * Stops the extension's service worker the way toolchain.md §4 found to work: the Stop button of
 * chrome://serviceworker-internals (CDP's stopAllWorkers does not stop extension workers). Resolves once it reads
 * STOPPED. The worker wakes on its next event (a download, a message from an extension page).
 */
export async function stopServiceWorker(session: BrowserSession): Promise<void> {
  const page = await session.context.newPage();
  try {
    await page.goto('chrome://serviceworker-internals/');
    const entry = page.locator('.serviceworker-registration', { hasText: session.extensionId }).first();
    await entry
      .getByRole('button', { name: /^stop$/i })
      .first()
      .click();
    await entry
      .locator('.serviceworker-running-status', { hasText: /STOPPED/ })
      .first()
      .waitFor({ timeout: 30_000 });
  } finally {
    await page.close();
  }
}

/** A page in a plain Chromium (no extension, no profile): for web pages such as the console's. */
export interface PlainBrowser {
  page: Page;
  close(): Promise<void>;
}

/**
 * Headless Debian Chromium without the extension. `ignoreHTTPSErrors` is for a server whose self-signed CA the test
 * made (the console's): the test pins that CA in its own HTTPS calls; the browser only needs to reach the page.
 */
export async function launchPlainBrowser(opts: { ignoreHTTPSErrors?: boolean } = {}): Promise<PlainBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} not found: apt-get install -y chromium`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: opts.ignoreHTTPSErrors ?? false });
    const page = await context.newPage();
    return { page, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
