import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { FIREFOX_EXTENSION_ID } from '@sandgate/shared';

/**
 * Debian's firefox-esr with the built Firefox MV3 extension, driven over raw WebDriver BiDi (toolchain.md §8:
 * Playwright cannot drive this Firefox, web-ext cannot evaluate anything). Firefox starts headless on a fresh profile
 * with `--remote-debugging-port=0`; the extension is installed as a temporary add-on with `webExtension.install`.
 *
 * Firefox gives no handle on an extension's background, so the tests look at the extension through one of its own
 * pages: its moz-extension UUID is pinned by a pref, a tab shows `popup.html`, and `script.evaluate` there reads
 * `browser.storage.local` and `browser.downloads` with the extension's own privileges.
 *
 * Firefox ESR 153.8 refuses `browsingContext.navigate` to an extension page ("Navigation to moz-extension://… is not
 * allowed in this context"; 153.7 allowed it). So the extension tab is opened the way the browser's own UI opens one:
 * from the browser window (BiDi's chrome scope, which needs `-remote-allow-system-access`), `gBrowser.addTab` with the
 * system principal. From then on the extension page moves between its own pages by itself (`location.replace`), which
 * any page may do within its origin, and a reload is BiDi's `browsingContext.reload`.
 */

export const FIREFOX_PATH = '/usr/bin/firefox-esr';
export const FIREFOX_BUILD_DIR = resolve(import.meta.dirname, '../../extension/.output/firefox-mv3');

/** The folders one Firefox run uses; made before launch so the native host can be registered into its HOME. */
export interface FirefoxDirs {
  /** Parent temp folder; removing it removes the rest. */
  root: string;
  /** HOME of the browser (and of `sandgate install --browser firefox`): Firefox reads ~/.mozilla/native-messaging-hosts. */
  home: string;
  profileDir: string;
  downloadDir: string;
}

export function createFirefoxDirs(): FirefoxDirs {
  const root = mkdtempSync(join(tmpdir(), 'sandgate-firefox-'));
  const dirs = { root, home: join(root, 'home'), profileDir: join(root, 'profile'), downloadDir: join(root, 'Downloads') };
  for (const d of [dirs.home, dirs.profileDir, dirs.downloadDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  return dirs;
}

/**
 * Preferences for a profile that saves every download to `downloadDir` without a dialog and talks to no one. The
 * download prefs are what a person gets from "Save files to …" with "Always ask" off.
 */
export function firefoxPrefs(downloadDir: string, extensionUuid: string): Record<string, string | number | boolean> {
  return {
    'browser.download.folderList': 2,
    'browser.download.dir': downloadDir,
    'browser.download.useDownloadDir': true,
    'browser.download.always_ask_before_handling_new_types': false,
    'browser.helperApps.neverAsk.saveToDisk':
      'application/octet-stream,application/pdf,application/x-msdownload,image/png,application/x-msdos-program',
    'browser.download.start_downloads_in_tmp_dir': false,
    'browser.download.alwaysOpenPanel': false,
    'browser.download.manager.addToRecentDocs': false,
    'pdfjs.disabled': true,
    // Safe Browsing would look downloads up on the network (and could block EICAR before the extension sees it).
    'browser.safebrowsing.downloads.enabled': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    // The moz-extension:// origin is random per profile unless pinned here; the tests open the extension's pages.
    'extensions.webextensions.uuids': JSON.stringify({ [FIREFOX_EXTENSION_ID]: extensionUuid }),
    'extensions.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'app.update.enabled': false,
    'app.normandy.enabled': false,
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'toolkit.telemetry.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'browser.newtabpage.enabled': false,
  };
}

const bidiErrorSchema = z.object({ id: z.number(), type: z.literal('error'), error: z.string(), message: z.string() });
const bidiSuccessSchema = z.object({ id: z.number(), type: z.literal('success'), result: z.unknown() });
const evaluateResultSchema = z.union([
  z.object({ type: z.literal('success'), result: z.object({ type: z.string(), value: z.unknown().optional() }) }),
  z.object({ type: z.literal('exception'), exceptionDetails: z.object({ text: z.string() }) }),
]);

/** A WebDriver BiDi connection: one command at a time is enough here, but replies are matched by id anyway. */
export class BidiConnection {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (ev) => this.#onMessage(String(ev.data)));
    ws.addEventListener('close', () => {
      for (const p of this.#pending.values()) p.reject(new Error(`BiDi connection closed during ${p.method}`));
      this.#pending.clear();
    });
  }

  static open(url: string): Promise<BidiConnection> {
    return new Promise((resolvePromise, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener('open', () => resolvePromise(new BidiConnection(ws)), { once: true });
      ws.addEventListener('error', () => reject(new Error(`cannot open WebDriver BiDi at ${url}`)), { once: true });
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolvePromise, reject) => {
      this.#pending.set(id, { resolve: resolvePromise, reject, method });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#ws.close();
  }

  #onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    const err = bidiErrorSchema.safeParse(msg);
    if (err.success) {
      const p = this.#pending.get(err.data.id);
      this.#pending.delete(err.data.id);
      p?.reject(new Error(`BiDi ${p.method}: ${err.data.error}: ${err.data.message}`));
      return;
    }
    const ok = bidiSuccessSchema.safeParse(msg);
    if (!ok.success) return; // events: none subscribed
    const p = this.#pending.get(ok.data.id);
    this.#pending.delete(ok.data.id);
    p?.resolve(ok.data.result);
  }
}

export interface FirefoxLaunchOptions {
  dirs: FirefoxDirs;
  /** The browser's environment; HOME is replaced by `dirs.home`. The native host it spawns inherits the rest. */
  env?: NodeJS.ProcessEnv;
  extensionPath?: string;
}

export interface FirefoxSession {
  bidi: BidiConnection;
  /** The add-on ID Firefox reported for the installed extension. */
  extensionId: string;
  /** `moz-extension://<uuid>` */
  extensionOrigin: string;
  /** The tab the tests browse in. */
  pageContext: string;
  /** A tab showing the extension's popup page, for evaluating with the extension's privileges. */
  extensionContext: string;
  process: ChildProcess;
  /** Everything Firefox wrote to stderr (last 20,000 characters), for failure messages. */
  log(): string;
  navigate(context: string, url: string): Promise<void>;
  /** Evaluates `expression` (awaited if a promise) in a tab and returns its JSON-serialisable value. */
  evaluate(context: string, expression: string, opts?: { userActivation?: boolean }): Promise<unknown>;
  /** Closes the browser and waits for it to exit. Safe to call twice. */
  close(): Promise<void>;
}

export async function launchFirefox(opts: FirefoxLaunchOptions): Promise<FirefoxSession> {
  const extensionPath = opts.extensionPath ?? FIREFOX_BUILD_DIR;
  if (!existsSync(join(extensionPath, 'manifest.json'))) {
    throw new Error(`no built Firefox extension at ${extensionPath}: run \`npm run build:firefox -w extension\` first`);
  }
  if (!existsSync(FIREFOX_PATH)) throw new Error(`${FIREFOX_PATH} not found: apt-get install -y firefox-esr`);
  const { dirs } = opts;
  const uuid = randomUUID();
  const prefs = firefoxPrefs(dirs.downloadDir, uuid);
  writeFileSync(
    join(dirs.profileDir, 'user.js'),
    Object.entries(prefs)
      .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
      .join('\n') + '\n',
  );

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v;
  env.HOME = dirs.home;
  env.MOZ_HEADLESS = '1';
  // Firefox's crash reporter and its own update/telemetry helpers have nothing to do in a test.
  env.MOZ_CRASHREPORTER_DISABLE = '1';
  for (const k of ['XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME']) delete env[k];

  const args = ['--headless', '--no-remote', '--remote-allow-system-access', '--remote-debugging-port=0', '--profile', dirs.profileDir];
  const child = spawn(FIREFOX_PATH, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (d: string) => {
    log = (log + d).slice(-20_000);
  };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8').on('data', append);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  let bidi: BidiConnection | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (child.exitCode === null && child.signalCode === null) {
      await Promise.race([bidi?.send('browser.close').catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
      const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const soft = setTimeout(() => child.kill('SIGTERM'), 5_000);
      await exited;
      clearTimeout(hard);
      clearTimeout(soft);
    }
    bidi?.close();
  };

  try {
    const wsUrl = await new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`Firefox did not open WebDriver BiDi within 60 s:\n${log}`)), 60_000);
      const look = () => {
        const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolvePromise(m[1]!);
        }
      };
      child.stderr.on('data', look);
      child.stdout.on('data', look);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`Firefox exited before WebDriver BiDi was up (${child.exitCode ?? child.signalCode}):\n${log}`));
      });
    });
    bidi = await BidiConnection.open(`${wsUrl}/session`);
    await bidi.send('session.new', { capabilities: {} });
    const installed = z
      .object({ extension: z.string() })
      .parse(await bidi.send('webExtension.install', { extensionData: { type: 'path', path: extensionPath } }));
    const tree = z
      .object({ contexts: z.array(z.object({ context: z.string() })).min(1) })
      .parse(await bidi.send('browsingContext.getTree', { maxDepth: 0 }));
    const pageContext = tree.contexts[0]!.context;
    const conn = bidi;
    const extensionOrigin = `moz-extension://${uuid}`;
    const extensionContext = await openExtensionTab(conn, `${extensionOrigin}/popup.html`);
    const evaluate = async (context: string, expression: string, o: { userActivation?: boolean } = {}): Promise<unknown> => {
      // Serialised to JSON inside the page: BiDi's remote values would need a deserialiser for every type.
      const raw = await conn.send('script.callFunction', {
        functionDeclaration: `async () => JSON.stringify(await (${expression}) ?? null)`,
        target: { context },
        awaitPromise: true,
        userActivation: o.userActivation ?? false,
        resultOwnership: 'none',
      });
      const r = evaluateResultSchema.parse(raw);
      if (r.type === 'exception') throw new Error(`evaluation failed in Firefox: ${r.exceptionDetails.text}`);
      return typeof r.result.value === 'string' ? (JSON.parse(r.result.value) as unknown) : undefined;
    };
    const session: FirefoxSession = {
      bidi: conn,
      extensionId: installed.extension,
      extensionOrigin,
      pageContext,
      extensionContext,
      process: child,
      log: () => log,
      async navigate(context, url) {
        if (!url.startsWith(`${extensionOrigin}/`)) {
          await conn.send('browsingContext.navigate', { context, url, wait: 'complete' });
          return;
        }
        const current = await evaluate(context, 'location.href');
        if (typeof current !== 'string' || !current.startsWith(`${extensionOrigin}/`)) {
          throw new Error(`Firefox opens extension pages only from an extension tab (this one shows ${String(current)})`);
        }
        if (current === url) {
          await conn.send('browsingContext.reload', { context, wait: 'complete' });
          return;
        }
        // The old document is marked, so the wait below cannot mistake it for the new one.
        await evaluate(context, `(window.__sandgateLeaving = true, location.replace(${JSON.stringify(url)}), true)`);
        await waitUntil(`Firefox to show ${url}`, async () => {
          const now = await evaluate(context, `window.__sandgateLeaving ? '' : document.readyState === 'complete' && location.href`).catch(
            () => '',
          );
          return now === url;
        });
      },
      evaluate,
      close,
    };
    return session;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Opens `url` in a new tab from the browser window itself, as the toolbar button would; returns the tab's context. */
async function openExtensionTab(conn: BidiConnection, url: string): Promise<string> {
  const chrome = z
    .object({ contexts: z.array(z.object({ context: z.string(), url: z.string() })).min(1) })
    .parse(await conn.send('browsingContext.getTree', { maxDepth: 0, 'moz:scope': 'chrome' }));
  const browserWindow = chrome.contexts.find((c) => c.url.startsWith('chrome://browser/'))?.context;
  if (!browserWindow) throw new Error(`no Firefox browser window among ${chrome.contexts.map((c) => c.url).join(', ')}`);
  const opened = await conn.send('script.evaluate', {
    expression: `(() => { const tab = gBrowser.addTab(${JSON.stringify(url)}, { triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() }); gBrowser.selectedTab = tab; return 'opened'; })()`,
    target: { context: browserWindow },
    awaitPromise: false,
  });
  const r = evaluateResultSchema.parse(opened);
  if (r.type === 'exception') throw new Error(`Firefox could not open ${url}: ${r.exceptionDetails.text}`);
  const treeSchema = z.object({ contexts: z.array(z.object({ context: z.string(), url: z.string() })) });
  return waitUntil(`Firefox to open ${url}`, async () => {
    const tree = treeSchema.parse(await conn.send('browsingContext.getTree', { maxDepth: 0 }));
    return tree.contexts.find((c) => c.url === url)?.context;
  });
}

/** Polls `check` every 100 ms until it returns something truthy; 30 s at most (a deadline for a hang, not a timing). */
async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An administrator's policy for the extension, the way Firefox reads it per user: a managed-storage manifest in
 * `~/.mozilla/managed-storage/<add-on id>.json` (platform-facts.md §2.3, tested in toolchain.md §7). Firefox does not
 * check it against `managed_schema`; the extension parses it with the shared zod schema.
 */
export function writeFirefoxManagedStorage(home: string, data: Record<string, unknown>): string {
  const dir = join(home, '.mozilla', 'managed-storage');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${FIREFOX_EXTENSION_ID}.json`);
  writeFileSync(path, JSON.stringify({ name: FIREFOX_EXTENSION_ID, description: 'Sandgate test policy', type: 'storage', data }));
  return path;
}

/** Removes a Firefox run's folders (profile, HOME with its host manifest, downloads). */
export function removeFirefoxDirs(dirs: FirefoxDirs | undefined): void {
  if (dirs) rmSync(dirs.root, { recursive: true, force: true });
}
