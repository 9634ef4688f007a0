import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, NATIVE_HOST_NAME, installPlanSchema } from '@sandgate/shared';
import { BROWSERS } from '#native-host/install/browsers.ts';
import { planInstall } from '#native-host/install/install-plan.ts';
import { installNativeHost, uninstallNativeHost } from '#native-host/install/install.ts';

let tmp: string;
let home: string;
let userHome: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sandgate-plan-'));
  home = join(tmp, 'sandgate-home');
  userHome = join(tmp, 'user');
  mkdirSync(userHome);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const winPlan = (scope: 'user' | 'system') =>
  planInstall({
    browser: 'all',
    scope,
    os: 'win32',
    homeDir: 'C:\\Users\\alice',
    sandgateHome: 'C:\\Users\\alice\\AppData\\Local\\Sandgate',
    nodePath: 'C:\\Program Files\\Sandgate\\node\\node.exe',
    entry: 'C:\\Program Files\\Sandgate\\native-host\\src\\bin\\native-host.ts',
    exists: () => false,
  }).plan;

describe('the Windows plan (registry keys, printed with install --dry-run --os windows)', () => {
  it('per user: one HKCU key per browser at the documented place, its default value the manifest path', () => {
    const plan = installPlanSchema.parse(winPlan('user'));
    const keys = plan.steps.filter((s) => s.kind === 'registry');
    expect(keys.map((k) => [k.browser, k.hive, k.key])).toEqual([
      ['chrome', 'HKCU', `Software\\Google\\Chrome\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`],
      ['chromium', 'HKCU', `Software\\Chromium\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`],
      ['edge', 'HKCU', `Software\\Microsoft\\Edge\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`],
      ['brave', 'HKCU', `Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`],
      ['firefox', 'HKCU', `Software\\Mozilla\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`],
    ]);
    for (const k of keys) {
      expect(k.value).toBe(`C:\\Users\\alice\\AppData\\Local\\Sandgate\\native-messaging-hosts\\${k.browser}\\${NATIVE_HOST_NAME}.json`);
      const file = plan.steps.find((s) => s.kind === 'file' && s.path === k.value);
      expect(file && file.kind === 'file' && JSON.parse(file.content).path).toBe(plan.launcher);
    }
    expect(plan.launcher).toBe('C:\\Users\\alice\\AppData\\Local\\Sandgate\\bin\\sandgate-native-host.cmd');
    const launcher = plan.steps.find((s) => s.kind === 'file' && s.role === 'launcher');
    expect(launcher?.kind === 'file' && launcher.content).toContain('set "SANDGATE_HOME=C:\\Users\\alice\\AppData\\Local\\Sandgate"');
  });

  it('system-wide: HKLM keys, manifests and a launcher under ProgramData that pins no SANDGATE_HOME', () => {
    const plan = winPlan('system');
    const keys = plan.steps.filter((s) => s.kind === 'registry');
    expect(
      keys.every(
        (k) => k.kind === 'registry' && k.hive === 'HKLM' && /^SOFTWARE\\.+\\NativeMessagingHosts\\org\.sandgate\.agent$/.test(k.key),
      ),
    ).toBe(true);
    expect(keys).toHaveLength(BROWSERS.length);
    expect(plan.launcher).toBe('C:\\ProgramData\\Sandgate\\bin\\sandgate-native-host.cmd');
    const launcher = plan.steps.find((s) => s.kind === 'file' && s.role === 'launcher');
    expect(launcher?.kind === 'file' && launcher.content).not.toContain('SANDGATE_HOME');
  });
});

describe('install plans for every browser, OS and scope', () => {
  it('every manifest allows our ID (and the policy’s extra IDs) and names the plan’s launcher', () => {
    for (const os of ['linux', 'darwin', 'win32'] as const) {
      for (const scope of ['user', 'system'] as const) {
        const { plan } = planInstall({
          browser: 'all',
          scope,
          os,
          homeDir: '/home/u',
          sandgateHome: '/home/u/.local/state/sandgate',
          nodePath: '/n',
          entry: '/e',
          extraIds: ['b'.repeat(32), 'x@corp.example'],
          exists: () => true,
        });
        const manifests = plan.steps.filter((s) => s.kind === 'file' && s.role === 'manifest');
        expect(new Set(manifests.map((m) => m.kind === 'file' && m.browser))).toEqual(new Set(BROWSERS));
        for (const m of manifests) {
          if (m.kind !== 'file') continue;
          const json = JSON.parse(m.content);
          expect(json.path, `${os} ${scope} ${m.browser}`).toBe(plan.launcher);
          if (m.browser === 'firefox') expect(json.allowed_extensions).toEqual(['agent@sandgate.org', 'x@corp.example']);
          else
            expect(json.allowed_origins).toEqual([`chrome-extension://${CHROMIUM_EXTENSION_ID}/`, `chrome-extension://${'b'.repeat(32)}/`]);
        }
      }
    }
  });

  it('--profile-dir with Firefox is a usage error naming where Firefox looks instead', () => {
    expect(() =>
      planInstall({
        browser: 'firefox',
        scope: 'user',
        profileDir: '/p',
        os: 'linux',
        homeDir: '/h',
        sandgateHome: '/s',
        nodePath: '/n',
        entry: '/e',
        exists: () => true,
      }),
    ).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('~/.mozilla/native-messaging-hosts') }));
    const { plan } = planInstall({
      browser: 'all',
      scope: 'user',
      profileDir: '/p',
      os: 'linux',
      homeDir: '/h',
      sandgateHome: '/s',
      nodePath: '/n',
      entry: '/e',
      exists: () => true,
    });
    expect(plan.steps.filter((s) => s.kind === 'file' && s.role === 'manifest').map((s) => (s.kind === 'file' ? s.path : ''))).toEqual([
      `/p/NativeMessagingHosts/${NATIVE_HOST_NAME}.json`,
    ]);
    expect(plan.notes.join()).toContain('firefox skipped');
  });
});

describe('uninstall removes exactly what install wrote', () => {
  const opts = () => ({ browser: 'all' as const, scope: 'user' as const, home, homeDir: userHome, platform: 'linux' as const });

  it('folders that existed before stay, folders install made go, and the home is as it was', async () => {
    mkdirSync(join(userHome, '.config/chromium'), { recursive: true });
    writeFileSync(join(userHome, '.config/chromium/Local State'), '{}');
    await installNativeHost(opts());
    await uninstallNativeHost(opts());
    expect(existsSync(join(userHome, '.config/chromium/Local State'))).toBe(true);
    expect(existsSync(join(userHome, '.config/chromium/NativeMessagingHosts'))).toBe(false);
    expect(existsSync(join(userHome, '.config/google-chrome'))).toBe(false);
    expect(existsSync(join(userHome, '.mozilla'))).toBe(false);
    expect(existsSync(home)).toBe(false);
  });

  it('a manifest changed since install is left in place and reported; the launcher it names stays', async () => {
    const r = await installNativeHost(opts());
    const edited = r.manifests.find((m) => m.includes('microsoft-edge'))!;
    writeFileSync(edited, readFileSync(edited, 'utf8').replace('"stdio"', '"stdio", "x": 1'));
    const u = await uninstallNativeHost(opts());
    expect(u.kept).toEqual([{ path: edited, reason: expect.stringContaining('changed') }]);
    expect(existsSync(edited)).toBe(true);
    expect(u.manifests).not.toContain(edited);
    expect(u.manifests).toHaveLength(4);
  });

  it('uninstalling one browser keeps the others and the launcher', async () => {
    const r = await installNativeHost(opts());
    const u = await uninstallNativeHost({ ...opts(), browser: 'chrome' });
    expect(u.manifests).toEqual([join(userHome, '.config/google-chrome/NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`)]);
    expect(existsSync(r.launcher)).toBe(true);
    expect(r.manifests.filter(existsSync)).toHaveLength(4);
  });

  it('a manifest someone else wrote under our name is never removed (no receipt, not our launcher)', async () => {
    const dir = join(userHome, '.config/chromium/NativeMessagingHosts');
    mkdirSync(dir, { recursive: true });
    const theirs = join(dir, `${NATIVE_HOST_NAME}.json`);
    writeFileSync(theirs, JSON.stringify({ name: NATIVE_HOST_NAME, path: '/opt/other/host', type: 'stdio', allowed_origins: [] }));
    const u = await uninstallNativeHost({ ...opts(), browser: 'chromium' });
    expect(u.manifests).toEqual([]);
    expect(existsSync(theirs)).toBe(true);
  });

  it('macOS folders under a test home are written and removed the same way', async () => {
    const mac = { ...opts(), platform: 'darwin' as const };
    const r = await installNativeHost(mac);
    expect(r.manifests).toContain(
      join(userHome, 'Library/Application Support/Google/Chrome/NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`),
    );
    expect(r.manifests).toContain(join(userHome, 'Library/Application Support/Mozilla/NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`));
    await uninstallNativeHost(mac);
    expect(existsSync(join(userHome, 'Library'))).toBe(false);
  });
});
