import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policySchema } from '@sandgate/shared';
import { buildHostManifest } from '../../../native-host/src/install/host-manifest.ts';

// Administrators copy these templates instead of running `sandgate install`; if they drifted from what the code
// writes, a deployed browser would refuse the host (wrong origin) and nobody would notice until a download slipped by.
const root = join(import.meta.dirname, '../../../manifests');
const readJson = (rel: string): unknown => JSON.parse(readFileSync(join(root, rel), 'utf8'));
const placeholder = '/opt/sandgate/bin/sandgate-native-host';

describe('the deployment templates in manifests/', () => {
  it('the Chromium-family host manifest is exactly what `sandgate install` writes for Chrome, Chromium, Edge and Brave', () => {
    for (const browser of ['chrome', 'chromium', 'edge', 'brave'] as const) {
      expect(readJson('native-messaging/chromium/org.sandgate.agent.json')).toEqual(buildHostManifest({ browser, launcherPath: placeholder }));
    }
  });

  it('the Firefox host manifest is exactly what `sandgate install --browser firefox` writes', () => {
    expect(readJson('native-messaging/firefox/org.sandgate.agent.json')).toEqual(buildHostManifest({ browser: 'firefox', launcherPath: placeholder }));
  });

  it('the example policy is valid and keeps the documented defaults', () => {
    const policy = policySchema.parse(readJson('policy/policy.example.json'));
    expect(policy.sandbox.connectTimeoutMs).toBe(500);
    expect(policy.sandbox.requestQueueMaxBytes).toBe(100 * 1024 * 1024);
    expect(policy.response.quarantine).toBe(true);
  });
});
