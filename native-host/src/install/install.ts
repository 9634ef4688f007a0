import { existsSync } from 'node:fs';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { NATIVE_HOST_NAME, SandgateError } from '@sandgate/shared';
import { BROWSERS, installPlatform, manifestLocations, type Browser, type InstallScope } from './browsers.ts';
import { buildHostManifest, partitionExtensionIds } from './host-manifest.ts';
import { launcherPath, writeLauncher } from './launcher.ts';
import { writeFileAtomic } from './write-file-atomic.ts';

export interface InstallOptions {
  browser: Browser | 'all';
  scope: 'user' | 'system';
  /** A Chromium --user-data-dir: the manifest goes to DIR/NativeMessagingHosts (what tests and kiosk setups use). */
  profileDir?: string;
  /** SANDGATE_HOME: the launcher goes to its bin/ folder. */
  home: string;
  /** Further Chromium extension IDs / Firefox add-on IDs to allow besides Sandgate's own. */
  extraIds?: string[];
  platform?: NodeJS.Platform;
  /** The user's home folder (default os.homedir()). */
  homeDir?: string;
  /** Prefix for system-wide folders (packaging DESTDIR, tests). Default: none. */
  rootDir?: string;
  /** The Node binary the launcher runs (default: the repository's pinned Node 22). */
  nodePath?: string;
}

export interface InstallResult {
  manifests: string[];
  launcher: string;
  /** Windows: the registry keys (with the host name) whose default value must be the manifest path. */
  registryKeys?: string[];
}

const MANIFEST_FILE = `${NATIVE_HOST_NAME}.json`;
const REG_FILE = `${NATIVE_HOST_NAME}.reg`;

interface Target {
  browser: Browser;
  dir: string;
  registryKey?: string;
}

/** Every manifest this install writes: where, for which browser, and on Windows under which registry key. */
function targets(opts: InstallOptions): Target[] {
  const platform = installPlatform(opts.platform ?? process.platform);
  const browsers: Browser[] = opts.browser === 'all' ? [...BROWSERS] : [opts.browser];
  for (const b of browsers) {
    if (!(BROWSERS as readonly string[]).includes(b)) {
      throw new SandgateError('BROWSER_UNKNOWN', `unknown browser ${String(b)}; one of ${BROWSERS.join(', ')}, all`, { params: { browser: b } });
    }
  }
  if (opts.profileDir) {
    // A user-data-dir is a Chromium notion; with "all", one manifest serves every Chromium-family browser there.
    if (opts.browser === 'firefox') throw new SandgateError('USAGE', '--profile-dir applies to Chromium-family browsers, not Firefox');
    const browser = opts.browser === 'all' ? 'chromium' : opts.browser;
    return [{ browser, dir: join(opts.profileDir, 'NativeMessagingHosts') }];
  }
  const homeDir = opts.homeDir ?? homedir();
  const scope: InstallScope = opts.scope;
  const out: Target[] = [];
  for (const browser of browsers) {
    const locations = manifestLocations(browser, platform, scope, homeDir);
    if (platform === 'win32') {
      // The manifest may live anywhere on Windows; the registry points at it. One folder per browser under the home.
      for (const key of locations) {
        out.push({ browser, dir: join(opts.home, 'native-messaging-hosts', browser), registryKey: `${key}\\${NATIVE_HOST_NAME}` });
      }
      continue;
    }
    locations.forEach((loc, i) => {
      const dir = scope === 'system' && opts.rootDir ? join(opts.rootDir, loc) : loc;
      // Secondary system folders (Firefox's lib64, Brave's Chromium fallback) only where their top folder exists.
      if (i > 0 && !existsSync(dirname(dirname(dir)))) return;
      out.push({ browser, dir });
    });
  }
  return out;
}

function regFile(key: string, manifestPath: string): string {
  const root = key.startsWith('HKLM\\') ? 'HKEY_LOCAL_MACHINE' : 'HKEY_CURRENT_USER';
  const rest = key.replace(/^HK(?:LM|CU)\\/, '');
  const value = manifestPath.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `Windows Registry Editor Version 5.00\r\n\r\n[${root}\\${rest}]\r\n@="${value}"\r\n`;
}

/**
 * Registers the native host: writes the launcher, then one manifest per browser location (and on Windows a .reg file
 * beside each manifest for the registry key; this code does not touch the registry itself).
 */
export async function installNativeHost(opts: InstallOptions): Promise<InstallResult> {
  const ids = partitionExtensionIds(opts.extraIds);
  const allow = [...ids.chromium.map((id) => `chrome-extension://${id}/`), ...ids.firefox];
  const platform = opts.platform ?? process.platform;
  const list = targets(opts);
  const launcher = await writeLauncher({
    home: opts.home,
    allow,
    platform,
    ...(opts.nodePath ? { nodePath: opts.nodePath } : {}),
  });

  const manifests: string[] = [];
  const registryKeys: string[] = [];
  for (const t of list) {
    const file = join(t.dir, MANIFEST_FILE);
    const manifest = buildHostManifest({ browser: t.browser, launcherPath: launcher, extraIds: opts.extraIds ?? [] });
    try {
      await mkdir(t.dir, { recursive: true, mode: 0o755 });
      await writeFileAtomic(file, JSON.stringify(manifest, null, 2) + '\n', 0o644);
      if (t.registryKey) {
        await writeFileAtomic(join(t.dir, REG_FILE), regFile(t.registryKey, file), 0o644);
        registryKeys.push(t.registryKey);
      }
    } catch (err) {
      throw new SandgateError('INSTALL_FAILED', `could not write ${file}: ${(err as Error).message}`, {
        params: { path: file, browser: t.browser },
        cause: err,
      });
    }
    if (!manifests.includes(file)) manifests.push(file);
  }
  return { manifests, launcher, ...(installPlatform(platform) === 'win32' ? { registryKeys } : {}) };
}

/** Removes what installNativeHost wrote for these options; the launcher only when every browser is uninstalled. */
export async function uninstallNativeHost(opts: InstallOptions): Promise<InstallResult> {
  const platform = opts.platform ?? process.platform;
  const manifests: string[] = [];
  const registryKeys: string[] = [];
  for (const t of targets(opts)) {
    for (const name of [MANIFEST_FILE, ...(t.registryKey ? [REG_FILE] : [])]) {
      const file = join(t.dir, name);
      // lstat: remove a file or a link itself, never a folder, never what a link points to.
      const st = await lstat(file).catch(() => null);
      if (!st || st.isDirectory()) continue;
      await unlink(file);
      if (name === MANIFEST_FILE) manifests.push(file);
    }
    if (t.registryKey) registryKeys.push(t.registryKey);
  }
  const launcher = launcherPath(opts.home, platform);
  if (opts.browser === 'all' && !opts.profileDir) await unlink(launcher).catch(() => {});
  return { manifests, launcher, ...(installPlatform(platform) === 'win32' ? { registryKeys } : {}) };
}

