import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { statusResultSchema } from '@sandgate/shared';
import { makeWineHome, type WineHome } from '#test-helpers/wine-home.ts';
import {
  REPO_ROOT,
  SANDGATE_SHIM,
  runWineNode,
  spawnWine,
  winPath,
  wineNode,
  readyWine,
  type WineProcess,
} from '#test-helpers/wine-node.ts';

const wine = wineNode();

/** Polls an output file until `pattern` shows up (a generous deadline turns a hang into a failure, not a timing). */
async function waitFor(p: WineProcess, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!pattern.test(p.stderr())) {
    if (Date.now() > deadline) throw new Error(`never saw ${pattern}: ${p.stderr()}`);
    if (p.child.exitCode !== null) throw new Error(`exited with ${p.child.exitCode}: ${p.stderr()}`);
    await sleep(100);
  }
}

describe.skipIf(!wine.available)(
  `the agent on Windows (Node win-x64 under Wine)${wine.available ? '' : ` — SKIPPED: ${wine.reason}`}`,
  () => {
    const w = () => readyWine(wine);
    let h: WineHome;
    const serves: WineProcess[] = [];
    const env = () => ({ SANDGATE_HOME: h.winHome });
    beforeAll(() => {
      h = makeWineHome();
    });
    afterAll(async () => {
      for (const s of serves) {
        s.child.kill('SIGKILL');
        await s.exited;
      }
      h?.close();
    });

    it('keeps its state under %LOCALAPPDATA% and names a per-user pipe under \\\\.\\pipe\\', async () => {
      const paths = winPath(join(REPO_ROOT, 'native-host/src/config/paths.ts')).replace(/\\/g, '/');
      const socket = winPath(join(REPO_ROOT, 'native-host/src/ipc/socket-path.ts')).replace(/\\/g, '/');
      const script = [
        `import { sandgateHome } from 'file:///${paths}';`,
        `import { agentSocketPath } from 'file:///${socket}';`,
        `import { userInfo } from 'node:os';`,
        `const home = sandgateHome({ LOCALAPPDATA: process.env.LOCALAPPDATA });`,
        `console.log(JSON.stringify({ home, local: process.env.LOCALAPPDATA, user: userInfo().username, pipe: agentSocketPath(home) }));`,
      ].join('\n');
      const r = await runWineNode(w(), ['--input-type=module', '-e', script], { outDir: h.outDir });
      expect(r.code, r.stderr).toBe(0);
      const seen = JSON.parse(r.stdout) as { home: string; local: string; user: string; pipe: string };
      expect(seen.local).toMatch(/^C:\\users\\[^\\]+\\AppData\\Local$/i);
      expect(seen.home).toBe(`${seen.local}\\Sandgate`);
      expect(seen.pipe).toMatch(new RegExp(`^\\\\\\\\\\.\\\\pipe\\\\sandgate-${seen.user}-[0-9a-f]{16}$`));
    });

    it('sandgate serve listens on the named pipe and sandgate status reaches it there', async () => {
      const serve = spawnWine(w(), w().nodeExe, [SANDGATE_SHIM, 'serve'], { outDir: h.outDir, env: env() });
      serves.push(serve);
      await waitFor(serve, /agent service listening/);
      const listening = JSON.parse(
        serve
          .stderr()
          .split('\n')
          .find((l) => l.includes('agent service listening'))!,
      ) as { socket: string };
      expect(listening.socket).toMatch(/^\\\\\.\\pipe\\sandgate-/);
      // The agent's state went under the home it was given, in Windows form.
      expect(existsSync(join(h.home, 'queue'))).toBe(true);

      const status = await runWineNode(w(), [SANDGATE_SHIM, 'status', '--json'], { outDir: h.outDir, env: env() });
      expect(status.code, status.stderr).toBe(0);
      const s = statusResultSchema.parse(JSON.parse(status.stdout));
      expect(s.home).toBe(h.winHome);
      expect(s.servers.map((v) => v.url)).toEqual(['https://127.0.0.1:9']);
    });

    it('a second agent on the same home stops with AGENT_ALREADY_RUNNING and the first one still answers', async () => {
      const second = await runWineNode(w(), [SANDGATE_SHIM, 'serve'], { outDir: h.outDir, env: env() });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/error\[AGENT_ALREADY_RUNNING\]: an agent is already listening on \\\\\.\\pipe\\sandgate-/);
      const status = await runWineNode(w(), [SANDGATE_SHIM, 'status'], { outDir: h.outDir, env: env() });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^service\s+running/m);
    });

    it('status with no agent says AGENT_UNAVAILABLE and names the pipe it tried', async () => {
      const other = makeWineHome();
      try {
        const r = await runWineNode(w(), [SANDGATE_SHIM, 'status'], { outDir: other.outDir, env: { SANDGATE_HOME: other.winHome } });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^error\[AGENT_UNAVAILABLE\].*\\\\\.\\pipe\\sandgate-/);
      } finally {
        other.close();
      }
    });
  },
);
