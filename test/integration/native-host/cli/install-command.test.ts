import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installPlanSchema } from '@sandgate/shared';
import { runSandgate } from './run-sandgate.ts';

let root: string;
let home: string;
let profile: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sandgate-cli-install-')));
  home = join(root, 'home');
  profile = join(root, 'chromium-profile');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

// HOME points into the temp folder so that nothing is written to (or read from) the real user's browser folders.
const run = (args: string[]) => runSandgate(args, { home, env: { HOME: root } });

describe('sandgate install, doctor, uninstall', () => {
  it('registers the host for a Chromium profile, doctor finds it, uninstall removes it', async () => {
    const manifest = join(profile, 'NativeMessagingHosts', 'org.sandgate.agent.json');
    const installed = await run(['install', '--browser', 'chromium', '--profile-dir', profile, '--json']);
    expect(installed.code, installed.stderr).toBe(0);
    const result = JSON.parse(installed.stdout);
    expect(result.manifests).toContain(manifest);
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    expect(m).toMatchObject({ name: 'org.sandgate.agent', type: 'stdio', path: result.launcher });
    expect(statSync(result.launcher).mode & 0o111).not.toBe(0);

    const doctor = await run(['doctor', '--scope', 'user', '--profile-dir', profile, '--json']);
    const checks = JSON.parse(doctor.stdout).checks as Array<{ check: string; status: string }>;
    expect(checks).toEqual(expect.arrayContaining([{ check: 'launcher', status: 'ok', detail: expect.any(String) }]));
    expect(checks).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'manifest chromium profile', status: 'ok' })]));

    const removed = await run(['uninstall', '--browser', 'chromium', '--profile-dir', profile]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(manifest)).toBe(false);
  });

  it('doctor without any registration fails with error[HOST_NOT_INSTALLED]', async () => {
    const r = await run(['doctor', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[HOST_NOT_INSTALLED\]/m);
    expect(JSON.parse(r.stdout).checks).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'launcher', status: 'fail' })]));
  });

  it('install --dry-run --os windows --json prints the plan: files and HKCU registry keys, and writes nothing', async () => {
    const r = await run(['install', '--dry-run', '--os', 'windows', '--home', 'C:\\Users\\alice', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = installPlanSchema.parse(JSON.parse(r.stdout));
    expect(plan.os).toBe('win32');
    const keys = plan.steps.flatMap((s) => (s.kind === 'registry' ? [`${s.hive}\\${s.key}`] : []));
    expect(keys).toContain('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\org.sandgate.agent');
    expect(keys).toHaveLength(5);
    expect(existsSync(home)).toBe(false);
    const refused = await run(['install', '--os', 'windows']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error\[USAGE\]: .*--dry-run/);
  });

  it('--profile-dir with Firefox is error[USAGE] naming where Firefox reads host manifests', async () => {
    const r = await run(['install', '--browser', 'firefox', '--profile-dir', profile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[USAGE\]: .*\.mozilla\/native-messaging-hosts/);
  });

  it('the policy’s extension.additionalIds are allowed by the manifests it writes', async () => {
    const policy = join(root, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        sandbox: { servers: [{ url: 'https://127.0.0.1:8443' }], serverCertificate: 'unused.pem' },
        extension: { additionalIds: ['b'.repeat(32), 'it@corp.example'] },
      }),
    );
    const r = await run(['install', '--browser', 'all', '--policy', policy, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const manifests = JSON.parse(r.stdout).manifests as string[];
    const chromium = JSON.parse(
      readFileSync(
        manifests.find((m) => m.includes('/.config/chromium/'))!,
        'utf8',
      ),
    );
    expect(chromium.allowed_origins).toEqual([
      'chrome-extension://lannamifkldjnpehgkdoekmdpejnnngc/',
      `chrome-extension://${'b'.repeat(32)}/`,
    ]);
    const firefox = JSON.parse(
      readFileSync(
        manifests.find((m) => m.includes('/.mozilla/'))!,
        'utf8',
      ),
    );
    expect(firefox.allowed_extensions).toEqual(['agent@sandgate.org', 'it@corp.example']);
  });

  it('an unknown browser is error[BROWSER_UNKNOWN]', async () => {
    const r = await run(['install', '--browser', 'netscape']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[BROWSER_UNKNOWN\]/);
  });
});
