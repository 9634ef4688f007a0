import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM_EXTENSION_ID, NATIVE_HOST_NAME, statusResultSchema } from '@sandgate/shared';
import { MANIFEST_LOCATIONS } from '#native-host/install/browsers.ts';
import { makeWineHome, type WineHome } from '#test-helpers/wine-home.ts';
import { SANDGATE_SHIM, runWine, runWineNode, wineNode, readyWine } from '#test-helpers/wine-node.ts';
import { deleteLogonStart, deleteRegistryKeys } from '#test-helpers/wine-registry.ts';

const wine = wineNode();
const chromeKey = `${MANIFEST_LOCATIONS.chrome.win32.user[0]}\\${NATIVE_HOST_NAME}`;

/** One native-messaging frame: 32-bit little-endian length, then the JSON. */
function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

function readFrames(buf: Buffer): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let at = 0; at + 4 <= buf.length;) {
    const n = buf.readUInt32LE(at);
    out.push(JSON.parse(buf.subarray(at + 4, at + 4 + n).toString('utf8')) as Record<string, unknown>);
    at += 4 + n;
  }
  return out;
}

const hello = {
  v: 1,
  kind: 'request',
  id: '1',
  type: 'hello',
  payload: { minV: 1, capabilities: ['verdict-push'], client: 'sandgate-extension/0.1.0 chromium' },
};

describe.skipIf(!wine.available)(
  `the native host as Chrome starts it on Windows (cmd.exe runs the .cmd launcher)${wine.available ? '' : ` — SKIPPED: ${wine.reason}`}`,
  () => {
    const w = () => readyWine(wine);
    let h: WineHome;
    let launcher: string;
    const env = () => ({ SANDGATE_HOME: h.winHome });
    beforeAll(async () => {
      h = makeWineHome();
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'install', '--browser', 'chrome'], { outDir: h.outDir, env: env() });
      if (r.code !== 0) throw new Error(`install failed: ${r.stderr}`);
      launcher = `${h.winHome}\\bin\\sandgate-native-host.cmd`;
      writeFileSync(join(h.root, 'hello.bin'), frame(hello));
    });
    afterAll(async () => {
      if (!h) return;
      // The agent the bridge started runs detached: stopped by its Windows pid.
      const s = await runWineNode(w(), [SANDGATE_SHIM, 'status', '--json'], { outDir: h.outDir, env: env() });
      if (s.code === 0)
        await runWine(w(), 'taskkill', ['/pid', String(statusResultSchema.parse(JSON.parse(s.stdout)).pid), '/f'], { outDir: h.outDir });
      await deleteRegistryKeys(w(), [chromeKey], h.outDir);
      await deleteLogonStart(w(), h.outDir);
      h.close();
    });

    it('answers hello over stdio, having started the agent over its named pipe', async () => {
      // What Chrome does: `cmd /c LAUNCHER ORIGIN`, the frames on stdin and stdout (stdout to a file here).
      const stdout = join(h.root, 'bridge.out');
      const r = await runWine(w(), 'cmd', ['/c', launcher, `chrome-extension://${CHROMIUM_EXTENSION_ID}/`], {
        outDir: h.outDir,
        stdinFile: join(h.root, 'hello.bin'),
        stdoutFile: stdout,
      });
      expect(r.code, r.stderr).toBe(0);
      const response = readFrames(readFileSync(stdout)).find((f) => f.kind === 'response' && f.id === '1');
      expect(response, JSON.stringify(readFrames(readFileSync(stdout)))).toMatchObject({ ok: true, data: { appVersion: '0.1.0' } });
      // The agent it started on demand is the one status reaches over the pipe.
      const s = await runWineNode(w(), [SANDGATE_SHIM, 'status', '--json'], { outDir: h.outDir, env: env() });
      expect(s.code, s.stderr).toBe(0);
      expect(statusResultSchema.parse(JSON.parse(s.stdout)).home).toBe(h.winHome);
    });

    it('refuses an extension the manifest does not allow with ORIGIN_FORBIDDEN', async () => {
      const stdout = join(h.root, 'foreign.out');
      const r = await runWine(w(), 'cmd', ['/c', launcher, `chrome-extension://${'a'.repeat(32)}/`], {
        outDir: h.outDir,
        stdinFile: join(h.root, 'hello.bin'),
        stdoutFile: stdout,
      });
      expect(r.code).not.toBe(0);
      const frames = readFrames(readFileSync(stdout));
      expect(frames).toEqual([
        expect.objectContaining({ kind: 'response', ok: false, error: expect.objectContaining({ code: 'ORIGIN_FORBIDDEN' }) }),
      ]);
    });
  },
);
