import { SandgateError } from '@sandgate/shared';

/**
 * Where each browser looks for native-messaging host manifests: ONE table, browser × OS × scope
 * (platform-facts.md §1.6). POSIX entries are folders ("~" = the user's home); Windows entries are registry keys
 * whose default value must be the absolute path of the manifest (the manifest itself may live anywhere).
 */
export const BROWSERS = ['chrome', 'chromium', 'edge', 'brave', 'firefox'] as const;
export type Browser = (typeof BROWSERS)[number];
export type InstallScope = 'user' | 'system';
export type InstallPlatform = 'linux' | 'darwin' | 'win32';

type Locations = Record<InstallPlatform, Record<InstallScope, readonly string[]>>;

const HOSTS = 'NativeMessagingHosts';

export const MANIFEST_LOCATIONS: Record<Browser, Locations> = {
  chrome: {
    linux: { user: ['~/.config/google-chrome/NativeMessagingHosts'], system: ['/etc/opt/chrome/native-messaging-hosts'] },
    darwin: {
      user: ['~/Library/Application Support/Google/Chrome/NativeMessagingHosts'],
      system: ['/Library/Google/Chrome/NativeMessagingHosts'],
    },
    win32: { user: [`HKCU\\Software\\Google\\Chrome\\${HOSTS}`], system: [`HKLM\\SOFTWARE\\Google\\Chrome\\${HOSTS}`] },
  },
  chromium: {
    linux: { user: ['~/.config/chromium/NativeMessagingHosts'], system: ['/etc/chromium/native-messaging-hosts'] },
    darwin: {
      user: ['~/Library/Application Support/Chromium/NativeMessagingHosts'],
      system: ['/Library/Application Support/Chromium/NativeMessagingHosts'],
    },
    win32: { user: [`HKCU\\Software\\Chromium\\${HOSTS}`], system: [`HKLM\\SOFTWARE\\Chromium\\${HOSTS}`] },
  },
  edge: {
    linux: { user: ['~/.config/microsoft-edge/NativeMessagingHosts'], system: ['/etc/opt/edge/native-messaging-hosts'] },
    darwin: {
      user: ['~/Library/Application Support/Microsoft Edge/NativeMessagingHosts'],
      system: ['/Library/Microsoft/Edge/NativeMessagingHosts'],
    },
    win32: { user: [`HKCU\\Software\\Microsoft\\Edge\\${HOSTS}`], system: [`HKLM\\SOFTWARE\\Microsoft\\Edge\\${HOSTS}`] },
  },
  brave: {
    // UNVERIFIED upstream: Brave builds unbranded, so its system default may be Chromium's folder; we write both.
    linux: {
      user: ['~/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts'],
      system: ['/etc/opt/brave/native-messaging-hosts', '/etc/chromium/native-messaging-hosts'],
    },
    darwin: {
      user: ['~/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts'],
      system: ['/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts'],
    },
    win32: {
      user: [`HKCU\\Software\\BraveSoftware\\Brave-Browser\\${HOSTS}`],
      system: [`HKLM\\SOFTWARE\\BraveSoftware\\Brave-Browser\\${HOSTS}`],
    },
  },
  firefox: {
    linux: {
      user: ['~/.mozilla/native-messaging-hosts'],
      // lib64 is what 64-bit Fedora/RHEL builds read; written only where /usr/lib64 exists (see install.ts).
      system: ['/usr/lib/mozilla/native-messaging-hosts', '/usr/lib64/mozilla/native-messaging-hosts'],
    },
    darwin: {
      user: ['~/Library/Application Support/Mozilla/NativeMessagingHosts'],
      system: ['/Library/Application Support/Mozilla/NativeMessagingHosts'],
    },
    win32: { user: [`HKCU\\Software\\Mozilla\\${HOSTS}`], system: [`HKLM\\SOFTWARE\\Mozilla\\${HOSTS}`] },
  },
};

/**
 * What `--profile-dir DIR` means per browser. Chromium-family browsers started with `--user-data-dir=DIR` read
 * `DIR/NativeMessagingHosts/` (and the system folder, but not the user folder of the default profile). Firefox has no
 * such folder: a Firefox profile never holds host manifests.
 */
export const PROFILE_DIR_SUBFOLDER: Record<Browser, string | null> = {
  chrome: 'NativeMessagingHosts',
  chromium: 'NativeMessagingHosts',
  edge: 'NativeMessagingHosts',
  brave: 'NativeMessagingHosts',
  firefox: null,
};

/** Where Firefox reads host manifests instead of a profile, for the USAGE error that refuses `--profile-dir`. */
export const FIREFOX_INSTEAD_OF_PROFILE =
  'Firefox does not read native-messaging host manifests from a profile folder; it reads ~/.mozilla/native-messaging-hosts ' +
  '(--scope user; $HOME decides where ~ is) or /usr/lib/mozilla/native-messaging-hosts (--scope system); on macOS ' +
  '~/Library/Application Support/Mozilla/NativeMessagingHosts, on Windows the HKCU/HKLM\\Software\\Mozilla\\NativeMessagingHosts key';

/**
 * Where a system-wide install keeps its launcher (and the record of what it wrote); a per-user install uses
 * `$SANDGATE_HOME/bin`. On Windows the manifests of a system install live here too, named by HKLM keys.
 */
export const SYSTEM_INSTALL_DIR: Record<InstallPlatform, string> = {
  linux: '/usr/local/lib/sandgate',
  darwin: '/Library/Application Support/Sandgate',
  win32: 'C:\\ProgramData\\Sandgate',
};

/** Splits a Windows table entry into the hive and the key below it. */
export function registryLocation(entry: string): { hive: 'HKCU' | 'HKLM'; key: string } {
  const m = /^(HKCU|HKLM)\\(.+)$/.exec(entry);
  if (!m) throw new SandgateError('INTERNAL', `not a registry location: ${entry}`);
  return { hive: m[1] as 'HKCU' | 'HKLM', key: m[2]! };
}

export function isBrowser(s: string): s is Browser {
  return (BROWSERS as readonly string[]).includes(s);
}

export function browserFamily(b: Browser): 'chromium' | 'firefox' {
  return b === 'firefox' ? 'firefox' : 'chromium';
}

export function installPlatform(p: NodeJS.Platform): InstallPlatform {
  if (p === 'linux' || p === 'darwin' || p === 'win32') return p;
  // FreeBSD and friends use the Linux layout closely enough for user installs.
  return 'linux';
}

/** The folders (POSIX) or registry keys (Windows, without the host name) for one browser, OS and scope. */
export function manifestLocations(browser: Browser, platform: NodeJS.Platform, scope: InstallScope, homeDir: string): string[] {
  const table = MANIFEST_LOCATIONS[browser];
  if (!table) throw new SandgateError('BROWSER_UNKNOWN', `unknown browser ${String(browser)}`, { params: { browser } });
  const p = installPlatform(platform);
  return table[p][scope].map((loc) => (p !== 'win32' && loc.startsWith('~/') ? homeDir.replace(/\/+$/, '') + loc.slice(1) : loc));
}
