import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, NATIVE_HOST_NAME, capturePolicySchema, policySchema } from '@sandgate/shared';
import { buildHostManifest } from '#native-host/install/host-manifest.ts';
import { serviceUnitLocations } from '#native-host/install/check-service.ts';
import { allElements, parseXml, plistValue } from './xml-well-formed.ts';

// Administrators copy these templates instead of running `sandgate install`, and deploy the browser policies with
// their own tools; if they drifted from shared/ (the extension ID, the host name, the policy keys), a deployed browser
// would refuse the host or silently drop the capture rules, and nobody would notice until a download slipped by.
const root = join(import.meta.dirname, '../../../manifests');
const read = (rel: string) => readFileSync(join(root, rel), 'utf8');
const readJson = (rel: string): unknown => JSON.parse(read(rel));
const placeholder = '/opt/sandgate/bin/sandgate-native-host';
const CAPTURE_KEYS = Object.keys(capturePolicySchema.shape);
const UPDATE_ENTRY = new RegExp(`^${CHROMIUM_EXTENSION_ID};https://[^;]+$`);

describe('host manifest templates', () => {
  it('the Chromium-family host manifest is exactly what `sandgate install` writes for Chrome, Chromium, Edge and Brave', () => {
    for (const browser of ['chrome', 'chromium', 'edge', 'brave'] as const) {
      expect(readJson('native-messaging/chromium/org.sandgate.agent.json')).toEqual(
        buildHostManifest({ browser, launcherPath: placeholder }),
      );
    }
  });

  it('the Firefox host manifest is exactly what `sandgate install --browser firefox` writes', () => {
    expect(readJson('native-messaging/firefox/org.sandgate.agent.json')).toEqual(
      buildHostManifest({ browser: 'firefox', launcherPath: placeholder }),
    );
  });

  it('the example agent policy is valid and keeps the documented defaults', () => {
    const policy = policySchema.parse(readJson('policy/policy.example.json'));
    expect(policy.sandbox.connectTimeoutMs).toBe(500);
    expect(policy.sandbox.requestQueueMaxBytes).toBe(100 * 1024 * 1024);
    expect(policy.response.quarantine).toBe(true);
  });
});

describe('Chromium-family enterprise policy templates', () => {
  it('Linux JSON for Chrome, Chromium, Edge and Brave force-installs our ID, allows our host and sets only known capture keys', () => {
    for (const b of ['chrome', 'chromium', 'edge', 'brave']) {
      const p = readJson(`browser-policy/linux/${b}.json`) as Record<string, any>;
      expect(p.ExtensionInstallForcelist, b).toEqual([expect.stringMatching(UPDATE_ENTRY)]);
      expect(p.NativeMessagingAllowlist, b).toEqual([NATIVE_HOST_NAME]);
      expect(p.NativeMessagingUserLevelHosts, b).toBe(false);
      expect(Object.keys(p['3rdparty'].extensions), b).toEqual([CHROMIUM_EXTENSION_ID]);
      const managed = p['3rdparty'].extensions[CHROMIUM_EXTENSION_ID];
      // Strict: a key the extension does not know would be dropped silently by the browser.
      expect(() => capturePolicySchema.parse(managed.capture), b).not.toThrow();
      expect(Object.keys(managed)).toEqual(['capture']);
    }
  });

  it('Windows .reg files write the documented policy keys, lists numbered 1..n as Chrome reads them', () => {
    const vendors = { chrome: 'Google\\Chrome', chromium: 'Chromium', edge: 'Microsoft\\Edge', brave: 'BraveSoftware\\Brave' };
    for (const [b, vendor] of Object.entries(vendors)) {
      const text = read(`browser-policy/windows/${b}.reg`);
      expect(text.startsWith('Windows Registry Editor Version 5.00\r\n'), b).toBe(true);
      const base = `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\${vendor}`;
      const sections = new Map<string, string[]>();
      let current = '';
      for (const line of text.split('\r\n')) {
        const key = /^\[(.+)\]$/.exec(line);
        if (key) sections.set((current = key[1]!), []);
        else if (line && !line.startsWith(';') && current) sections.get(current)!.push(line);
      }
      for (const key of sections.keys()) expect(key.startsWith(base), `${b}: ${key}`).toBe(true);
      const values = (k: string) => sections.get(`${base}\\${k}`) ?? [];
      expect(values('ExtensionInstallForcelist')).toEqual([expect.stringMatching(new RegExp(`^"1"="${CHROMIUM_EXTENSION_ID};https://`))]);
      expect(values('NativeMessagingAllowlist')).toEqual([`"1"="${NATIVE_HOST_NAME}"`]);
      expect(sections.get(base)).toEqual(['"NativeMessagingUserLevelHosts"=dword:00000000']);
      const managedPrefix = `${base}\\3rdparty\\extensions\\${CHROMIUM_EXTENSION_ID}\\policy\\capture\\`;
      const managed = [...sections.keys()].filter((k) => k.startsWith(`${base}\\3rdparty`));
      expect(managed.length, b).toBeGreaterThan(0);
      for (const k of managed) {
        expect(k.startsWith(managedPrefix), k).toBe(true);
        expect(CAPTURE_KEYS).toContain(k.slice(managedPrefix.length));
        sections.get(k)!.forEach((v, i) => expect(v).toMatch(new RegExp(`^"${i + 1}"="[^"]+"$`)));
      }
    }
  });

  it('the ADMX and ADML are well-formed, every string and presentation they use is defined, and keys match shared/', () => {
    const admx = parseXml(read('browser-policy/windows/admx/sandgate.admx'));
    const adml = parseXml(read('browser-policy/windows/admx/en-US/sandgate.adml'));
    expect(admx.name).toBe('policyDefinitions');
    expect(adml.name).toBe('policyDefinitionResources');
    const strings = new Set(
      allElements(adml)
        .filter((e) => e.name === 'string')
        .map((e) => e.attrs.id),
    );
    const presentations = allElements(adml).filter((e) => e.name === 'presentation');
    const used = allElements(admx)
      .flatMap((e) => Object.values(e.attrs))
      .join('\n');
    for (const m of used.matchAll(/\$\(string\.(\w+)\)/g)) expect(strings, m[1]).toContain(m[1]);
    for (const m of used.matchAll(/\$\(presentation\.(\w+)\)/g)) expect(presentations.map((p) => p.attrs.id)).toContain(m[1]);
    const listIds = new Set(
      allElements(admx)
        .filter((e) => e.name === 'list')
        .map((e) => e.attrs.id),
    );
    for (const box of allElements(adml).filter((e) => e.name === 'listBox')) expect(listIds).toContain(box.attrs.refId);

    const policies = allElements(admx).filter((e) => e.name === 'policy');
    for (const browser of ['Chrome', 'Edge']) {
      const names = policies.map((p) => p.attrs.name);
      expect(names).toEqual(
        expect.arrayContaining([
          `${browser}_ForceInstall`,
          `${browser}_NativeMessaging`,
          `${browser}_CaptureFileExtensions`,
          `${browser}_CaptureMimeTypes`,
        ]),
      );
    }
    const strValues = allElements(admx)
      .filter((e) => e.name === 'string')
      .map((e) => e.text);
    expect(strValues.filter((s) => s.startsWith(CHROMIUM_EXTENSION_ID))).toEqual([
      expect.stringMatching(UPDATE_ENTRY),
      expect.stringMatching(UPDATE_ENTRY),
    ]);
    expect(strValues.filter((s) => s === NATIVE_HOST_NAME)).toHaveLength(2);
    for (const list of allElements(admx).filter((e) => e.name === 'list')) {
      const m = new RegExp(`\\\\3rdparty\\\\extensions\\\\${CHROMIUM_EXTENSION_ID}\\\\policy\\\\capture\\\\(\\w+)$`).exec(
        list.attrs.key ?? '',
      );
      expect(m, list.attrs.key).not.toBeNull();
      expect(CAPTURE_KEYS).toContain(m![1]);
    }
  });
});

describe('macOS configuration profile', () => {
  it('is a well-formed plist with, per browser, a force-install payload and a managed-storage payload for our ID', () => {
    const profile = plistValue(parseXml(read('browser-policy/macos/sandgate.mobileconfig')).children[0]!) as Record<string, any>;
    expect(profile.PayloadType).toBe('Configuration');
    const payloads = profile.PayloadContent as Array<Record<string, any>>;
    const uuids = [profile.PayloadUUID, ...payloads.map((p) => p.PayloadUUID)];
    expect(new Set(uuids).size).toBe(uuids.length);
    for (const domain of ['com.google.Chrome', 'org.chromium.Chromium', 'com.microsoft.Edge', 'com.brave.Browser']) {
      const browser = payloads.find((p) => p.PayloadType === domain);
      expect(browser?.ExtensionInstallForcelist, domain).toEqual([expect.stringMatching(UPDATE_ENTRY)]);
      expect(browser?.NativeMessagingAllowlist).toEqual([NATIVE_HOST_NAME]);
      // On macOS the extension's policy lives in its own domain; a 3rdparty key in the browser's domain is not read.
      expect(browser?.['3rdparty']).toBeUndefined();
      const managed = payloads.find((p) => p.PayloadType === `${domain}.extensions.${CHROMIUM_EXTENSION_ID}`);
      expect(managed, domain).toBeDefined();
      expect(() => capturePolicySchema.parse(managed!.capture)).not.toThrow();
    }
  });
});

describe('Firefox policies.json', () => {
  it('force-installs our add-on ID and configures it through 3rdparty.Extensions with known capture keys', () => {
    const p = (readJson('browser-policy/firefox/policies.json') as Record<string, any>).policies;
    expect(p.ExtensionSettings[FIREFOX_EXTENSION_ID]).toMatchObject({
      installation_mode: 'force_installed',
      install_url: expect.stringMatching(/^https:\/\//),
    });
    expect(Object.keys(p['3rdparty'].Extensions)).toEqual([FIREFOX_EXTENSION_ID]);
    expect(() => capturePolicySchema.parse(p['3rdparty'].Extensions[FIREFOX_EXTENSION_ID].capture)).not.toThrow();
  });
});

describe('service definitions', () => {
  // Windows has no template: `sandgate install` registers the agent's start at logon (install/logon-start.ts), tested
  // under Wine in test/windows/native-host/install/logon-start.test.ts.
  it('systemd user and system units and the launchd agent all run `sandgate serve`', () => {
    const user = read('systemd/sandgate.service');
    const system = read('systemd/sandgate@.service');
    for (const unit of [user, system]) expect(unit).toMatch(/^ExecStart=\S*sandgate serve$/m);
    expect(system).toMatch(/^User=%i$/m);
    expect(system).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(user).toMatch(/^WantedBy=default\.target$/m);

    const plist = plistValue(parseXml(read('launchd/org.sandgate.agent.plist')).children[0]!) as Record<string, any>;
    expect(plist.Label).toBe(NATIVE_HOST_NAME);
    expect(plist.ProgramArguments.slice(-1)).toEqual(['serve']);
  });

  it('doctor looks for the service definitions under the names these templates are installed as', () => {
    const names = serviceUnitLocations('linux', '/home/u').map((p) => p.split('/').pop());
    expect(names).toEqual(expect.arrayContaining(['sandgate.service', 'sandgate@.service']));
    expect(serviceUnitLocations('darwin', '/Users/u')[0]).toBe('/Users/u/Library/LaunchAgents/org.sandgate.agent.plist');
    for (const f of ['systemd/sandgate.service', 'systemd/sandgate@.service', 'launchd/org.sandgate.agent.plist']) {
      expect(existsSync(join(root, f)), f).toBe(true);
    }
  });
});

describe('the well-formedness checker itself', () => {
  it('refuses what an XML parser refuses', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(/does not close/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/twice/);
    expect(() => parseXml('<a>AT&T</a>')).toThrow(/entity/);
    expect(() => parseXml('<a/><b/>')).toThrow(/second root/);
    expect(() => parseXml('<a><!-- x -- y --></a>')).toThrow(/--/);
    expect(parseXml('<?xml version="1.0"?><a k="v">t &amp; u</a>')).toMatchObject({ name: 'a', attrs: { k: 'v' }, text: 't & u' });
  });
});
