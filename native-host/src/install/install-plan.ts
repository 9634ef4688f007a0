import { posix, win32 } from 'node:path';
import { NATIVE_HOST_NAME, SandgateError, type InstallPlan, type InstallStep } from '@sandgate/shared';
import {
  BROWSERS,
  FIREFOX_INSTEAD_OF_PROFILE,
  PROFILE_DIR_SUBFOLDER,
  SYSTEM_INSTALL_DIR,
  isBrowser,
  manifestLocations,
  registryLocation,
  type Browser,
  type InstallPlatform,
  type InstallScope,
} from './browsers.ts';
import { buildHostManifest, partitionExtensionIds } from './host-manifest.ts';
import { launcherFileName, launcherScript } from './launcher.ts';

export interface PlanOptions {
  browser: Browser | 'all';
  scope: InstallScope;
  /** A Chromium --user-data-dir: the manifest goes to DIR/NativeMessagingHosts; implies a per-user launcher. */
  profileDir?: string;
  os: InstallPlatform;
  /** The user's home folder ("~" in the table). */
  homeDir: string;
  /** SANDGATE_HOME: a per-user launcher goes to its bin/ folder and pins it. */
  sandgateHome: string;
  /** Staging prefix (DESTDIR) for system-wide POSIX paths; manifests still name the final launcher path. */
  rootDir?: string;
  /** The Node binary and the bridge entry the launcher runs. */
  nodePath: string;
  entry: string;
  extraIds?: readonly string[];
  /** Whether a path exists now (decides which folders are created, and the optional secondary folders). */
  exists: (path: string) => boolean;
}

export interface BuiltPlan {
  plan: InstallPlan;
  /** Where the record of what was written lives (staged path). */
  receiptPath: string;
  /** Maps a final path to where it is written (differs only with rootDir). */
  stage: (path: string) => string;
}

export const MANIFEST_FILE = `${NATIVE_HOST_NAME}.json`;
export const RECEIPT_FILE = 'install-receipt.json';

/** The browsers an option names, refusing unknown ones. */
export function selectedBrowsers(browser: Browser | 'all'): Browser[] {
  if (browser === 'all') return [...BROWSERS];
  if (!isBrowser(browser)) {
    throw new SandgateError('BROWSER_UNKNOWN', `unknown browser ${String(browser)}; one of ${BROWSERS.join(', ')}, all`, {
      params: { browser },
    });
  }
  return [browser];
}

/**
 * Everything `sandgate install` would do, as data: folders to create, files to write (launcher, manifests) and, on
 * Windows, registry keys to set. Pure apart from `exists`, so it can be printed for any OS and asserted in tests.
 */
export function planInstall(o: PlanOptions): BuiltPlan {
  const P = o.os === 'win32' ? win32 : posix;
  const browsers = selectedBrowsers(o.browser);
  const notes: string[] = [];
  const perUser = o.scope === 'user' || o.profileDir !== undefined;
  const staged = !perUser && o.rootDir !== undefined && o.os !== 'win32';
  const stage = (p: string) => (staged ? posix.join(o.rootDir!, p) : p);

  const base = perUser ? o.sandgateHome : SYSTEM_INSTALL_DIR[o.os];
  const launcher = P.join(base, 'bin', launcherFileName(o.os));
  const ids = partitionExtensionIds(o.extraIds);
  const allow = [...ids.chromium.map((id) => `chrome-extension://${id}/`), ...ids.firefox];

  const manifests: Array<{ browser: Browser; dir: string; registry?: { hive: 'HKCU' | 'HKLM'; key: string } }> = [];
  if (o.profileDir !== undefined) {
    if (o.browser === 'firefox')
      throw new SandgateError('USAGE', `--profile-dir: ${FIREFOX_INSTEAD_OF_PROFILE}`, { params: { browser: 'firefox' } });
    // Every Chromium-family browser reads the same DIR/NativeMessagingHosts, so one manifest serves them all.
    const chromiumFamily = browsers.filter((b) => PROFILE_DIR_SUBFOLDER[b] !== null);
    if (browsers.includes('firefox')) notes.push(`firefox skipped: ${FIREFOX_INSTEAD_OF_PROFILE}`);
    const browser = chromiumFamily.length === 1 ? chromiumFamily[0]! : 'chromium';
    manifests.push({ browser, dir: P.join(o.profileDir, PROFILE_DIR_SUBFOLDER[browser]!) });
  } else {
    for (const browser of browsers) {
      const locations = manifestLocations(browser, o.os, o.scope, o.homeDir);
      if (o.os === 'win32') {
        // The manifest may live anywhere on Windows; the registry key names it. One folder per browser.
        const dir = P.join(base, 'native-messaging-hosts', browser);
        for (const loc of locations) {
          const r = registryLocation(loc);
          manifests.push({ browser, dir, registry: { hive: r.hive, key: `${r.key}\\${NATIVE_HOST_NAME}` } });
        }
        continue;
      }
      locations.forEach((dir, i) => {
        // Secondary folders (Firefox's lib64, Brave's Chromium fallback) only where the browser's top folder exists.
        const top = P.dirname(P.dirname(dir));
        if (i > 0 && !o.exists(stage(top))) {
          notes.push(`${browser}: ${dir} skipped because ${top} does not exist`);
          return;
        }
        manifests.push({ browser, dir });
      });
    }
  }

  const steps: InstallStep[] = [];
  const dirSteps = new Set<string>();
  // Folders are listed top-down and only where missing, so that uninstall can remove exactly the ones install made.
  // A Windows plan printed on another OS cannot ask whether C:\Users\… exists: it stops at the folders Windows has.
  const stops = new Set(o.os === 'win32' ? [o.homeDir, P.dirname(o.sandgateHome), P.dirname(SYSTEM_INSTALL_DIR[o.os])] : []);
  const ensureDir = (dir: string, why: string) => {
    const missing: string[] = [];
    for (let d = dir; !o.exists(stage(d)) && !stops.has(d) && P.dirname(d) !== d; d = P.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      if (dirSteps.has(d)) continue;
      dirSteps.add(d);
      steps.push({ kind: 'dir', path: stage(d), mode: d === o.sandgateHome ? 0o700 : 0o755, for: why });
    }
  };

  ensureDir(P.dirname(launcher), 'the launcher');
  steps.push({
    kind: 'file',
    path: stage(launcher),
    role: 'launcher',
    mode: 0o755,
    content: launcherScript({ ...(perUser ? { home: o.sandgateHome } : {}), nodePath: o.nodePath, entry: o.entry, allow, platform: o.os }),
  });
  const written = new Set<string>();
  for (const m of manifests) {
    const file = P.join(m.dir, MANIFEST_FILE);
    if (!written.has(file)) {
      written.add(file);
      ensureDir(m.dir, `${m.browser} host manifests`);
      const manifest = buildHostManifest({ browser: m.browser, launcherPath: launcher, extraIds: o.extraIds ?? [] });
      steps.push({
        kind: 'file',
        path: stage(file),
        role: 'manifest',
        browser: m.browser,
        mode: 0o644,
        content: JSON.stringify(manifest, null, 2) + '\n',
      });
    }
    if (m.registry) steps.push({ kind: 'registry', hive: m.registry.hive, key: m.registry.key, value: file, browser: m.browser });
  }

  return {
    plan: { os: o.os, scope: perUser ? 'user' : 'system', launcher, steps, notes },
    receiptPath: stage(P.join(base, RECEIPT_FILE)),
    stage,
  };
}
