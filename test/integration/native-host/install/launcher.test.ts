import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_EXTENSION_ID, NATIVE_HOST_NAME } from '@sandgate/shared';
import { installNativeHost } from '#native-host/install/install.ts';
import { FrameDecoder } from '#native-host/wire/framing.ts';
import { FAKE_AGENT_COMMAND, fakeAgentStarts, killFakeAgents } from '#test-helpers/spawn-host.ts';

let tmp: string;
let home: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sandgate-launcher-'));
  home = join(tmp, 'home');
});
afterEach(() => {
  killFakeAgents(home);
  rmSync(tmp, { recursive: true, force: true });
});

const HELLO_BIN = readFileSync(join(import.meta.dirname, '../../../fixtures/messages/hello.bin'));

/** Runs a manifest's `path` the way Chromium does: cwd = its folder, a bare environment, the origin as argv[1]. */
function runAsBrowser(
  manifestPath: string,
  args: string[],
  stdin: Buffer,
): Promise<{ code: number | null; frames: unknown[]; stderr: string }> {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { path: string };
  const child = spawn(manifest.path, args, {
    cwd: join(manifest.path, '..'),
    // PATH without the repository's node: only the system node 20 (if any) could be found by name.
    env: { PATH: '/usr/bin:/bin', SANDGATE_SERVE_COMMAND: JSON.stringify(FAKE_AGENT_COMMAND) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const d = new FrameDecoder(1 << 24);
  const frames: unknown[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => d.push(c).forEach((r) => frames.push(r.ok ? r.value : r.error.code)));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, frames, stderr })));
}

describe('installed launcher', () => {
  it('a manifest written with --profile-dir starts the bridge under the pinned Node, which answers hello.bin', async () => {
    const profile = join(tmp, 'udd');
    const r = await installNativeHost({ browser: 'chromium', scope: 'user', profileDir: profile, home, homeDir: tmp });
    expect(r.manifests).toEqual([join(profile, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`)]);
    const out = await runAsBrowser(r.manifests[0]!, [`chrome-extension://${CHROMIUM_EXTENSION_ID}/`], HELLO_BIN);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.frames).toEqual([
      expect.objectContaining({ id: 'hello-1', ok: true, data: expect.objectContaining({ appVersion: 'fake-agent' }) }),
    ]);
    // SANDGATE_HOME came from the launcher, not from the (bare) environment.
    expect(fakeAgentStarts(home)).toHaveLength(1);
  });

  it('only the IDs it was installed for are served: an extra ID works, any other is ORIGIN_FORBIDDEN', async () => {
    const extra = 'e'.repeat(32);
    const r = await installNativeHost({
      browser: 'chromium',
      scope: 'user',
      profileDir: join(tmp, 'udd'),
      home,
      homeDir: tmp,
      extraIds: [extra],
    });
    const ok = await runAsBrowser(r.manifests[0]!, [`chrome-extension://${extra}/`], HELLO_BIN);
    expect(ok.frames).toEqual([expect.objectContaining({ id: 'hello-1', ok: true })]);
    const refused = await runAsBrowser(r.manifests[0]!, [`chrome-extension://${'f'.repeat(32)}/`], HELLO_BIN);
    expect(refused.frames).toEqual([
      expect.objectContaining({ id: '-', ok: false, error: expect.objectContaining({ code: 'ORIGIN_FORBIDDEN' }) }),
    ]);
  });
});
