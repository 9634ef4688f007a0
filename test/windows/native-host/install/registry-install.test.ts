import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, NATIVE_HOST_NAME, doctorReportSchema } from '@sandgate/shared';
import { BROWSERS, MANIFEST_LOCATIONS, type Browser } from '#native-host/install/browsers.ts';
import { makeWineHome, type WineHome } from '#test-helpers/wine-home.ts';
import { SANDGATE_SHIM, runWine, runWineNode, wineNode, readyWine } from '#test-helpers/wine-node.ts';
import { deleteLogonStart, deleteRegistryKeys, readRegistryDefaults, setRegistryDefault } from '#test-helpers/wine-registry.ts';

const wine = wineNode();

/** The key whose default value names our manifest, per browser and scope (the table install writes from). */
const keyOf = (b: Browser, scope: 'user' | 'system') => `${MANIFEST_LOCATIONS[b].win32[scope][0]}\\${NATIVE_HOST_NAME}`;
/** A Windows path (Z:\… or C:\…) as this Linux test reads it. */
const linuxPath = (h: WineHome, p: string) => (p.startsWith(h.winHome) ? join(h.home, ...p.slice(h.winHome.length).split('\\')) : p);

describe.skipIf(!wine.available)(
  `sandgate install, doctor and uninstall against Wine's registry${wine.available ? '' : ` — SKIPPED: ${wine.reason}`}`,
  () => {
    const w = () => readyWine(wine);
    let h: WineHome;
    const env = () => ({ SANDGATE_HOME: h.winHome });
    const userKeys = BROWSERS.map((b) => keyOf(b, 'user'));
    const systemKeys = BROWSERS.map((b) => keyOf(b, 'system'));
    // The prefix is shared by the tier's files: each starts and ends with no registration at all.
    const systemDir = () => join(w().prefix, 'drive_c', 'ProgramData', 'Sandgate');
    const clean = async () => {
      await deleteRegistryKeys(w(), [...userKeys, ...systemKeys], h.outDir);
      // A per-user install also registers the agent's start at logon (logon-start.test.ts); never left behind.
      await deleteLogonStart(w(), h.outDir);
      rmSync(systemDir(), { recursive: true, force: true });
    };
    beforeAll(async () => {
      h = makeWineHome();
      await clean();
    });
    afterAll(async () => {
      if (h) await clean();
      h?.close();
    });

    const doctor = async (args: string[] = []) => {
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'doctor', '--json', ...args], { outDir: h.outDir, env: env() });
      return doctorReportSchema.parse(JSON.parse(r.stdout)).checks;
    };

    it('install --browser all (per user) sets the five HKCU keys with reg.exe, each naming a manifest that names the .cmd launcher', async () => {
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'install', '--browser', 'all'], { outDir: h.outDir, env: env() });
      expect(r.code, r.stderr).toBe(0);
      const values = await readRegistryDefaults(w(), userKeys, h.outDir);
      const launcher = `${h.winHome}\\bin\\sandgate-native-host.cmd`;
      for (const b of BROWSERS) {
        const manifestPath = values.get(keyOf(b, 'user'));
        expect(manifestPath, b).toBe(`${h.winHome}\\native-messaging-hosts\\${b}\\${NATIVE_HOST_NAME}.json`);
        const m = JSON.parse(readFileSync(linuxPath(h, manifestPath!), 'utf8')) as Record<string, unknown>;
        expect(m).toMatchObject({ name: NATIVE_HOST_NAME, type: 'stdio', path: launcher });
        if (b === 'firefox') expect(m.allowed_extensions).toEqual([FIREFOX_EXTENSION_ID]);
        else expect(m.allowed_origins).toEqual([`chrome-extension://${CHROMIUM_EXTENSION_ID}/`]);
      }
      // The launcher runs the Windows Node by absolute path, with CRLF line ends cmd.exe reads.
      const cmd = readFileSync(linuxPath(h, launcher), 'utf8');
      expect(cmd).toMatch(/^@echo off\r\n/);
      expect(cmd).toContain(`set "SANDGATE_HOME=${h.winHome}"\r\n`);
      expect(cmd).toMatch(/^"[A-Z]:\\[^"]+\\node\.exe" "[A-Z]:\\[^"]+\\sandgate-native-host\.mjs" /m);
    });

    it('doctor reads the keys back: every browser OK and the launcher OK', async () => {
      const checks = await doctor();
      for (const b of BROWSERS) expect(checks.find((c) => c.check === `manifest ${b} user`)?.status, b).toBe('ok');
      expect(checks.find((c) => c.check === 'launcher')).toMatchObject({ status: 'ok' });
    });

    it('doctor fails a browser whose key names a manifest that is not there', async () => {
      const gone = `${h.winHome}\\elsewhere\\${NATIVE_HOST_NAME}.json`;
      await setRegistryDefault(w(), keyOf('edge', 'user'), gone, h.outDir);
      // Edge reads the key: the manifest it names is checked (the one install recorded is checked too, and still fine).
      const edge = (await doctor()).filter((c) => c.check === 'manifest edge user');
      expect(edge).toContainEqual(
        expect.objectContaining({ status: 'fail', code: 'HOST_NOT_INSTALLED', detail: expect.stringContaining(gone) }),
      );
    });

    it('doctor does not take a key without a default value ("(value not set)") for a manifest path', async () => {
      const r = await runWine(w(), 'reg', ['delete', keyOf('brave', 'user'), '/ve', '/f'], { outDir: h.outDir });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const checks = await doctor();
      expect(checks.filter((c) => JSON.stringify(c).includes('value not set'))).toEqual([]);
    });

    it('uninstall --browser all deletes the keys and the files install wrote, and doctor then says not installed', async () => {
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'uninstall', '--browser', 'all'], { outDir: h.outDir, env: env() });
      expect(r.code, r.stderr).toBe(0);
      expect([...(await readRegistryDefaults(w(), userKeys, h.outDir)).keys()]).toEqual([]);
      expect(existsSync(join(h.home, 'native-messaging-hosts'))).toBe(false);
      expect(existsSync(join(h.home, 'bin', 'sandgate-native-host.cmd'))).toBe(false);
      expect(await doctor()).toContainEqual(expect.objectContaining({ check: 'manifest', status: 'fail', code: 'HOST_NOT_INSTALLED' }));
    });

    it('install --scope system sets the HKLM keys and a launcher under C:\\ProgramData\\Sandgate; uninstall takes them away', async () => {
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'install', '--browser', 'all', '--scope', 'system'], {
        outDir: h.outDir,
        env: env(),
      });
      expect(r.code, r.stderr).toBe(0);
      const values = await readRegistryDefaults(w(), systemKeys, h.outDir);
      for (const b of BROWSERS)
        expect(values.get(keyOf(b, 'system')), b).toBe(`C:\\ProgramData\\Sandgate\\native-messaging-hosts\\${b}\\${NATIVE_HOST_NAME}.json`);
      const checks = await doctor(['--scope', 'system']);
      for (const b of BROWSERS) expect(checks.find((c) => c.check === `manifest ${b} system`)?.status, b).toBe('ok');

      const u = await runWineNode(w(), [SANDGATE_SHIM, 'uninstall', '--browser', 'all', '--scope', 'system'], {
        outDir: h.outDir,
        env: env(),
      });
      expect(u.code, u.stderr).toBe(0);
      expect([...(await readRegistryDefaults(w(), systemKeys, h.outDir)).keys()]).toEqual([]);
      expect(existsSync(systemDir())).toBe(false);
    });

    it('uninstall does not claim to have removed a key that someone else already deleted', async () => {
      const i = await runWineNode(w(), [SANDGATE_SHIM, 'install', '--browser', 'chrome'], { outDir: h.outDir, env: env() });
      expect(i.code, i.stderr).toBe(0);
      await deleteRegistryKeys(w(), [keyOf('chrome', 'user')], h.outDir);
      const u = await runWineNode(w(), [SANDGATE_SHIM, 'uninstall', '--browser', 'chrome'], { outDir: h.outDir, env: env() });
      expect(u.code, u.stderr).toBe(0);
      expect(u.stdout).toContain(`removed ${h.winHome}\\native-messaging-hosts\\chrome\\${NATIVE_HOST_NAME}.json`);
      expect(u.stdout).not.toMatch(/registry key/);
    });
  },
);
