import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

    const doctor = await run(['doctor', '--profile-dir', profile]);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect(doctor.stdout).toMatch(/^OK\s+launcher/m);
    expect(doctor.stdout).toMatch(/^OK\s+manifest profile/m);
    expect(doctor.stdout).toMatch(/^WARN\s+agent\s+not running/m);

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

  it('an unknown browser is error[BROWSER_UNKNOWN]', async () => {
    const r = await run(['install', '--browser', 'netscape']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[BROWSER_UNKNOWN\]/);
  });
});
