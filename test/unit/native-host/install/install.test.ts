import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, mkdirSync, symlinkSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, NATIVE_HOST_NAME } from '@sandgate/shared';
import { BROWSERS, MANIFEST_LOCATIONS, manifestLocations, type Browser } from '#native-host/install/browsers.ts';
import { buildHostManifest } from '#native-host/install/host-manifest.ts';
import { installNativeHost, uninstallNativeHost } from '#native-host/install/install.ts';
import { NATIVE_HOST_ENTRY } from '#native-host/install/launcher.ts';
import { resolvePinnedNode } from '#native-host/install/pinned-node.ts';

let tmp: string;
let home: string;
let userHome: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sandgate-install-'));
  home = join(tmp, 'sandgate-home');
  userHome = join(tmp, 'user');
  mkdirSync(userHome);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const CHROMIUM_ORIGIN = `chrome-extension://${CHROMIUM_EXTENSION_ID}/`;

describe('install table', () => {
  it('names a location for every browser × OS × scope, absolute or under the user home, and registry keys on Windows', () => {
    for (const b of BROWSERS) {
      for (const os of ['linux', 'darwin', 'win32'] as const) {
        for (const scope of ['user', 'system'] as const) {
          const locs = manifestLocations(b, os, scope, '/home/u');
          expect(locs.length, `${b} ${os} ${scope}`).toBeGreaterThan(0);
          for (const l of locs) {
            if (os === 'win32')
              expect(l).toMatch(
                scope === 'user' ? /^HKCU\\Software\\.+\\NativeMessagingHosts$/ : /^HKLM\\SOFTWARE\\.+\\NativeMessagingHosts$/,
              );
            else expect(l.startsWith(scope === 'user' ? '/home/u/' : '/')).toBe(true);
          }
        }
      }
    }
  });

  it('matches the documented folders for the common cases', () => {
    expect(manifestLocations('chromium', 'linux', 'user', '/home/u')).toEqual(['/home/u/.config/chromium/NativeMessagingHosts']);
    expect(manifestLocations('chrome', 'linux', 'system', '/home/u')).toEqual(['/etc/opt/chrome/native-messaging-hosts']);
    expect(manifestLocations('firefox', 'linux', 'user', '/home/u')).toEqual(['/home/u/.mozilla/native-messaging-hosts']);
    expect(manifestLocations('edge', 'darwin', 'system', '/Users/u')).toEqual(['/Library/Microsoft/Edge/NativeMessagingHosts']);
    expect(manifestLocations('firefox', 'win32', 'user', 'C:\\Users\\u')).toEqual(['HKCU\\Software\\Mozilla\\NativeMessagingHosts']);
    expect(Object.keys(MANIFEST_LOCATIONS).sort()).toEqual([...BROWSERS].sort());
  });

  it('an unknown browser is refused with BROWSER_UNKNOWN', async () => {
    await expect(installNativeHost({ browser: 'netscape' as Browser, scope: 'user', home, homeDir: userHome })).rejects.toMatchObject({
      code: 'BROWSER_UNKNOWN',
    });
  });
});

describe('host manifest', () => {
  it('Chromium-family browsers get allowed_origins with Sandgate’s ID; Firefox gets allowed_extensions', () => {
    for (const b of BROWSERS) {
      const m = buildHostManifest({ browser: b, launcherPath: '/abs/launcher' });
      expect(m).toMatchObject({ name: NATIVE_HOST_NAME, type: 'stdio', path: '/abs/launcher' });
      if (b === 'firefox') {
        expect(m.allowed_extensions).toEqual([FIREFOX_EXTENSION_ID]);
        expect(m.allowed_origins).toBeUndefined();
      } else {
        expect(m.allowed_origins).toEqual([CHROMIUM_ORIGIN]);
        expect(m.allowed_extensions).toBeUndefined();
      }
    }
  });

  it('extra IDs land in the right family; junk is a usage error', () => {
    const extra = ['b'.repeat(32), `chrome-extension://${'c'.repeat(32)}/`, 'other@example.org'];
    expect(buildHostManifest({ browser: 'edge', launcherPath: '/l', extraIds: extra }).allowed_origins).toEqual([
      CHROMIUM_ORIGIN,
      `chrome-extension://${'b'.repeat(32)}/`,
      `chrome-extension://${'c'.repeat(32)}/`,
    ]);
    expect(buildHostManifest({ browser: 'firefox', launcherPath: '/l', extraIds: extra }).allowed_extensions).toEqual([
      FIREFOX_EXTENSION_ID,
      'other@example.org',
    ]);
    expect(() => buildHostManifest({ browser: 'chrome', launcherPath: '/l', extraIds: ['chrome-extension://*/'] })).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });
});

describe('installNativeHost', () => {
  it('user scope on Linux writes one manifest per browser into the user home, all pointing at one launcher', async () => {
    const r = await installNativeHost({ browser: 'all', scope: 'user', home, homeDir: userHome, platform: 'linux' });
    expect(r.launcher).toBe(join(home, 'bin', 'sandgate-native-host'));
    expect(r.registryKeys).toBeUndefined();
    expect(r.manifests.sort()).toEqual(
      [
        '.config/google-chrome/NativeMessagingHosts',
        '.config/chromium/NativeMessagingHosts',
        '.config/microsoft-edge/NativeMessagingHosts',
        '.config/BraveSoftware/Brave-Browser/NativeMessagingHosts',
        '.mozilla/native-messaging-hosts',
      ]
        .map((d) => join(userHome, d, `${NATIVE_HOST_NAME}.json`))
        .sort(),
    );
    for (const m of r.manifests) {
      const json = readJson(m);
      expect(json.path).toBe(r.launcher);
      expect(statSync(m).mode & 0o777).toBe(0o644);
      if (m.includes('mozilla')) expect(json.allowed_extensions).toEqual([FIREFOX_EXTENSION_ID]);
      else expect(json.allowed_origins).toEqual([CHROMIUM_ORIGIN]);
    }
  });

  it('the launcher is an executable sh script that pins SANDGATE_HOME and runs the pinned Node 22 on the host entry', async () => {
    const r = await installNativeHost({
      browser: 'chromium',
      scope: 'user',
      home,
      homeDir: userHome,
      platform: 'linux',
      extraIds: ['d'.repeat(32)],
    });
    expect(statSync(r.launcher).mode & 0o777).toBe(0o755);
    const script = readFileSync(r.launcher, 'utf8');
    const node = resolvePinnedNode();
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain(`SANDGATE_HOME='${home}'\nexport SANDGATE_HOME`);
    expect(script).toContain(
      `exec '${node}' '${NATIVE_HOST_ENTRY}' --allow-origin '${CHROMIUM_ORIGIN}' --allow-origin 'chrome-extension://${'d'.repeat(32)}/' --allow-origin '${FIREFOX_EXTENSION_ID}' "$@"`,
    );
    // The real binary, not the node_modules/.bin link that depends on PATH-less resolution.
    expect(lstatSync(node).isSymbolicLink()).toBe(false);
  });

  it('a path with a quote in it is quoted safely in the launcher', async () => {
    const odd = join(tmp, "it's home");
    const r = await installNativeHost({ browser: 'chromium', scope: 'user', home: odd, homeDir: userHome, platform: 'linux' });
    expect(readFileSync(r.launcher, 'utf8')).toContain(`SANDGATE_HOME='${join(tmp, "it'\\''s home")}'`);
  });

  it('--profile-dir writes DIR/NativeMessagingHosts/org.sandgate.agent.json and nothing in the user home', async () => {
    const profile = join(tmp, 'udd');
    const r = await installNativeHost({
      browser: 'chromium',
      scope: 'user',
      profileDir: profile,
      home,
      homeDir: userHome,
      platform: 'linux',
    });
    expect(r.manifests).toEqual([join(profile, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`)]);
    expect(readJson(r.manifests[0]!).allowed_origins).toEqual([CHROMIUM_ORIGIN]);
    expect(existsSync(join(userHome, '.config'))).toBe(false);
    await expect(
      installNativeHost({ browser: 'firefox', scope: 'user', profileDir: profile, home, homeDir: userHome }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('system scope writes under the root prefix; secondary folders only where their top folder exists', async () => {
    const root = join(tmp, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    const r = await installNativeHost({ browser: 'all', scope: 'system', home, homeDir: userHome, platform: 'linux', rootDir: root });
    const rel = r.manifests.map((m) => m.slice(root.length)).sort();
    expect(rel).toEqual(
      [
        '/etc/chromium/native-messaging-hosts',
        '/etc/opt/brave/native-messaging-hosts',
        '/etc/opt/chrome/native-messaging-hosts',
        '/etc/opt/edge/native-messaging-hosts',
        '/usr/lib/mozilla/native-messaging-hosts',
      ].map((d) => `${d}/${NATIVE_HOST_NAME}.json`),
    );
    // A system launcher is shared by every user: it lives outside anyone's home and pins no SANDGATE_HOME, while the
    // manifests name its final path, not the staging one.
    expect(r.launcher).toBe(join(root, 'usr/local/lib/sandgate/bin/sandgate-native-host'));
    expect(readFileSync(r.launcher, 'utf8')).not.toContain('SANDGATE_HOME');
    expect(readJson(r.manifests[0]!).path).toBe('/usr/local/lib/sandgate/bin/sandgate-native-host');
  });

  it('macOS user scope uses the Application Support folders', async () => {
    const r = await installNativeHost({ browser: 'edge', scope: 'user', home, homeDir: userHome, platform: 'darwin' });
    expect(r.manifests).toEqual([
      join(userHome, 'Library/Application Support/Microsoft Edge/NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`),
    ]);
  });

  it('Windows cannot be executed elsewhere: without --dry-run it is a usage error that says so', async () => {
    if (process.platform === 'win32') return;
    await expect(installNativeHost({ browser: 'all', scope: 'user', home, homeDir: userHome, platform: 'win32' })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('--dry-run'),
    });
  });

  it('reinstalling replaces a symlink planted at the manifest path instead of writing through it', async () => {
    const dir = join(userHome, '.config/chromium/NativeMessagingHosts');
    mkdirSync(dir, { recursive: true });
    const victim = join(tmp, 'victim.txt');
    symlinkSync(victim, join(dir, `${NATIVE_HOST_NAME}.json`));
    await installNativeHost({ browser: 'chromium', scope: 'user', home, homeDir: userHome, platform: 'linux' });
    expect(existsSync(victim)).toBe(false);
    expect(lstatSync(join(dir, `${NATIVE_HOST_NAME}.json`)).isFile()).toBe(true);
  });

  it('uninstall removes the manifests it wrote, and the launcher when every browser goes', async () => {
    const opts = { browser: 'all' as const, scope: 'user' as const, home, homeDir: userHome, platform: 'linux' as const };
    const r = await installNativeHost(opts);
    const u = await uninstallNativeHost(opts);
    expect(u.manifests.sort()).toEqual(r.manifests.sort());
    for (const m of r.manifests) expect(existsSync(m)).toBe(false);
    expect(existsSync(r.launcher)).toBe(false);
    expect((await uninstallNativeHost(opts)).manifests).toEqual([]);
  });
});
