import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { doctorReportSchema } from '@sandgate/shared';
import { singleTextValue } from '@sandgate/shared/reg-query';
import { makeWineHome, type WineHome } from '#test-helpers/wine-home.ts';
import { SANDGATE_SHIM, readyWine, runWine, runWineNode, wineEnv, wineNode } from '#test-helpers/wine-node.ts';

const wine = wineNode();
const RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';
const MACHINE_RUN_KEY = 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';

describe.skipIf(!wine.available)(
  `the agent's start at logon on Windows: the per-user Run key, under Wine${wine.available ? '' : ` — SKIPPED: ${wine.reason}`}`,
  () => {
    const w = () => readyWine(wine);
    let h: WineHome;
    const env = () => ({ SANDGATE_HOME: h.winHome });
    const sandgate = (args: string[]) => runWineNode(w(), [SANDGATE_SHIM, ...args], { outDir: h.outDir, env: env() });
    const runValue = async (key = RUN_KEY) => {
      const r = await runWine(w(), 'reg', ['query', key, '/v', 'Sandgate'], { outDir: h.outDir });
      return r.code === 0 ? singleTextValue(r.stdout) : undefined;
    };
    const serviceCheck = async () => {
      const r = await sandgate(['doctor', '--json']);
      return doctorReportSchema.parse(JSON.parse(r.stdout)).checks.find((c) => c.check === 'service');
    };
    // Whatever the agent started at "logon" is stopped with the prefix's other processes (the tier's files run one after another).
    const stopPrefix = () => void spawnSync('wineserver', ['-k'], { env: wineEnv(w().prefix), stdio: 'ignore', timeout: 30_000 });
    const script = () => `${h.winHome}\\bin\\sandgate-agent.vbs`;

    // A system-wide install writes under C:\ProgramData\Sandgate, and its agent lives in the Wine user's own default home.
    const programData = () => join(w().prefix, 'drive_c', 'ProgramData', 'Sandgate');
    let userHome = '';
    const forget = async () => {
      for (const key of [RUN_KEY, MACHINE_RUN_KEY])
        await runWine(w(), 'reg', ['delete', key, '/v', 'Sandgate', '/f'], { outDir: h.outDir });
      rmSync(programData(), { recursive: true, force: true });
      if (userHome) rmSync(userHome, { recursive: true, force: true });
    };

    beforeAll(async () => {
      h = makeWineHome();
      const local = (await runWine(w(), 'cmd', ['/c', 'echo', '%LOCALAPPDATA%'], { outDir: h.outDir })).stdout.trim();
      const m = /^C:\\(.+)$/i.exec(local);
      if (!m) throw new Error(`unexpected LOCALAPPDATA under Wine: ${local}`);
      userHome = join(w().prefix, 'drive_c', ...m[1]!.split('\\'), 'Sandgate');
      await forget();
    });
    afterAll(async () => {
      if (h) await forget();
      h?.close();
    });

    it('doctor says the agent does not start at logon before install', async () => {
      expect(await serviceCheck()).toMatchObject({
        status: 'warn',
        code: 'AGENT_UNAVAILABLE',
        detail: expect.stringContaining('no logon start'),
      });
    });

    it('install (per user) sets HKCU\\…\\Run\\Sandgate to wscript on the logon script, and doctor says so', async () => {
      const r = await sandgate(['install', '--browser', 'chrome']);
      expect(r.code, r.stderr).toBe(0);
      expect(await runValue()).toMatch(
        new RegExp(`^"[A-Z]:\\\\windows\\\\System32\\\\wscript\\.exe" //B //NoLogo "${script().replace(/\\/g, '\\\\')}"$`, 'i'),
      );
      const vbs = readFileSync(join(h.home, 'bin', 'sandgate-agent.vbs'), 'utf8');
      expect(vbs).toContain(`cmd /c ""set ""SANDGATE_HOME=${h.winHome}"" && `);
      expect(vbs).toMatch(/""[^"]+node\.exe"" ""[^"]+sandgate\.mjs"" serve >> ""[^"]+\\logs\\agent\.log"" 2>&1""", 0, True\r?$/m);
      expect(await serviceCheck()).toMatchObject({ status: 'ok', detail: expect.stringContaining(script()) });
    });

    it("at Wine's next start-up (wineboot runs the Run keys, as Windows does at logon) the agent starts, hidden, and answers", async () => {
      stopPrefix();
      const boot = await runWine(w(), 'wineboot', [], { outDir: h.outDir });
      expect(boot.code).toBe(0);
      // A generous deadline turns "never started" into a failure; the agent needs seconds under Wine.
      const deadline = Date.now() + 90_000;
      let status = await sandgate(['status']);
      while (status.code !== 0 && Date.now() < deadline) {
        await sleep(1000);
        status = await sandgate(['status']);
      }
      expect(status.code, `${status.stderr}\n${readLog(h)}`).toBe(0);
      expect(status.stdout).toMatch(/^service\s+running/m);
      // Its output went where the script sends it: the agent's own log in the home.
      expect(readLog(h)).toContain('agent service listening');
    });

    it('an agent killed (a crash) is started again by the logon script', async () => {
      const pidOf = (out: string) => /^service\s+running \(pid (\d+)/m.exec(out)?.[1];
      const first = pidOf((await sandgate(['status'])).stdout);
      expect(first, readLog(h)).toBeDefined();
      const kill = await runWine(w(), 'taskkill', ['/F', '/PID', first!], { outDir: h.outDir });
      expect(kill.code, kill.stderr).toBe(0);
      // The script waits 5 s, then starts it again; under Wine the agent needs seconds more.
      const deadline = Date.now() + 90_000;
      let again: string | undefined;
      while (Date.now() < deadline) {
        await sleep(1000);
        const s = await sandgate(['status']);
        again = s.code === 0 ? pidOf(s.stdout) : undefined;
        if (again && again !== first) break;
      }
      expect(again, readLog(h)).toBeDefined();
      expect(again).not.toBe(first);
      expect(readLog(h).split('agent service listening').length - 1).toBeGreaterThanOrEqual(2);
      stopPrefix();
    });

    it('uninstall --browser all removes the Run value and the script; doctor then warns again', async () => {
      const u = await sandgate(['uninstall', '--browser', 'all']);
      expect(u.code, u.stderr).toBe(0);
      expect(u.stdout).toContain(`removed ${RUN_KEY}\\Sandgate`);
      expect(await runValue()).toBeUndefined();
      expect(existsSync(join(h.home, 'bin', 'sandgate-agent.vbs'))).toBe(false);
      expect(await serviceCheck()).toMatchObject({ status: 'warn' });
    });

    it('uninstall leaves a Run value named Sandgate that runs something else, and says so', async () => {
      await runWine(w(), 'reg', ['add', RUN_KEY, '/v', 'Sandgate', '/t', 'REG_SZ', '/d', 'C:\\elsewhere\\other.exe', '/f'], {
        outDir: h.outDir,
      });
      const u = await sandgate(['uninstall', '--browser', 'all']);
      expect(u.code, u.stderr).toBe(0);
      expect(u.stdout).toMatch(/kept HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Sandgate: runs C:\\elsewhere\\other\.exe/);
      expect(await runValue()).toBe('C:\\elsewhere\\other.exe');
    });

    it('install --scope system sets HKLM\\…\\Run\\Sandgate; at start-up every user gets their own agent, in their own default home', async () => {
      // The HKCU value of the tests above would start the agent first: this one is about the machine's.
      await runWine(w(), 'reg', ['delete', RUN_KEY, '/v', 'Sandgate', '/f'], { outDir: h.outDir });
      stopPrefix();
      mkdirSync(programData(), { recursive: true });
      // The system-wide policy every user's agent reads (no SANDGATE_HOME, no SANDGATE_POLICY at logon).
      copyFileSync(join(h.home, 'policy.json'), join(programData(), 'policy.json'));
      const r = await runWineNode(w(), [SANDGATE_SHIM, 'install', '--browser', 'chrome', '--scope', 'system'], { outDir: h.outDir });
      expect(r.code, r.stderr).toBe(0);
      const machineScript = 'C:\\ProgramData\\Sandgate\\bin\\sandgate-agent.vbs';
      expect(await runValue(MACHINE_RUN_KEY)).toMatch(
        /wscript\.exe" \/\/B \/\/NoLogo "C:\\ProgramData\\Sandgate\\bin\\sandgate-agent\.vbs"$/i,
      );
      const vbs = readFileSync(join(programData(), 'bin', 'sandgate-agent.vbs'), 'utf8');
      // No fixed home: each user's agent runs in that user's default home.
      expect(vbs).not.toContain('SANDGATE_HOME');
      expect(vbs).toContain('%LOCALAPPDATA%\\Sandgate\\logs\\agent.log');
      const doctor = await runWineNode(w(), [SANDGATE_SHIM, 'doctor', '--json'], { outDir: h.outDir });
      const service = doctorReportSchema.parse(JSON.parse(doctor.stdout)).checks.find((c) => c.check === 'service');
      expect(service).toMatchObject({ status: 'ok', detail: expect.stringContaining(machineScript) });

      const boot = await runWine(w(), 'wineboot', [], { outDir: h.outDir });
      expect(boot.code).toBe(0);
      const userLog = () => {
        const f = join(userHome, 'logs', 'agent.log');
        return existsSync(f) ? readFileSync(f, 'utf8') : '(no agent.log in the default home)';
      };
      const deadline = Date.now() + 90_000;
      let status = await runWineNode(w(), [SANDGATE_SHIM, 'status'], { outDir: h.outDir });
      while (status.code !== 0 && Date.now() < deadline) {
        await sleep(1000);
        status = await runWineNode(w(), [SANDGATE_SHIM, 'status'], { outDir: h.outDir });
      }
      expect(status.code, `${status.stderr}\n${userLog()}`).toBe(0);
      expect(status.stdout).toMatch(/^home\s+C:\\users\\[^\\]+\\AppData\\Local\\Sandgate\s*$/im);
      expect(userLog()).toContain('agent service listening');
      stopPrefix();

      const u = await runWineNode(w(), [SANDGATE_SHIM, 'uninstall', '--browser', 'all', '--scope', 'system'], { outDir: h.outDir });
      expect(u.code, u.stderr).toBe(0);
      expect(u.stdout).toContain(`removed ${MACHINE_RUN_KEY}\\Sandgate`);
      expect(await runValue(MACHINE_RUN_KEY)).toBeUndefined();
      expect(existsSync(join(programData(), 'bin', 'sandgate-agent.vbs'))).toBe(false);
    });
  },
);

function readLog(h: WineHome): string {
  const f = join(h.home, 'logs', 'agent.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '(no agent.log)';
}
