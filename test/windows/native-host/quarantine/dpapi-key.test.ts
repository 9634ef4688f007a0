import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnLab, type LabProcess } from '#test-helpers/lab-process.ts';
import { makeWineHome, type WineHome } from '#test-helpers/wine-home.ts';
import { SANDGATE_SHIM, readyWine, runWineNode, spawnWine, winPath, wineNode, type WineProcess } from '#test-helpers/wine-node.ts';

const wine = wineNode();
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const MAGIC = Buffer.from('SANDGATE-DPAPI-KEY-1\n', 'latin1');

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
  `the quarantine key under DPAPI (Node win-x64 under Wine, Wine's crypt32)${wine.available ? '' : ` — SKIPPED: ${wine.reason}`}`,
  () => {
    const w = () => readyWine(wine);
    let h: WineHome;
    let lab: LabProcess;
    let serve: WineProcess | undefined;
    let itemId = '';
    const env = (extra: Record<string, string> = {}) => ({ SANDGATE_HOME: h.winHome, ...extra });
    const keyFile = () => join(h.home, 'keys', 'quarantine.key');
    const download = () => join(h.root, 'downloads', 'invoice.exe');
    const sandgate = (args: string[], extra: Record<string, string> = {}) =>
      runWineNode(w(), [SANDGATE_SHIM, ...args], { outDir: h.outDir, env: env(extra) });

    beforeAll(async () => {
      h = makeWineHome();
      lab = await spawnLab(join(h.root, 'lab'));
      // The agent under Wine judges with the real lab on loopback, pinned to the lab's own certificate.
      const policy = {
        sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: winPath(lab.certPath) },
        response: { quarantine: true },
      };
      writeFileSync(join(h.home, 'policy.json'), JSON.stringify(policy, null, 2));
      mkdirSync(join(h.root, 'downloads'), { recursive: true });
      serve = spawnWine(w(), w().nodeExe, [SANDGATE_SHIM, 'serve'], { outDir: h.outDir, env: env() });
      await waitFor(serve, /agent service listening/);
    });
    afterAll(async () => {
      if (serve) {
        serve.child.kill('SIGKILL');
        await serve.exited;
      }
      await lab?.stop();
      h?.close();
    });

    it('quarantines a malicious download under a DPAPI-wrapped key: the key file holds a DPAPI blob, not the key', async () => {
      writeFileSync(download(), EICAR);
      const r = await sandgate(['submit', winPath(download()), '--wait', '--json']);
      expect(r.code, r.stderr).toBe(1);
      const line = JSON.parse(r.stdout.trim().split('\n')[0]!) as { actions: { type: string; status: string; id?: string }[] };
      const q = line.actions.find((a) => a.type === 'quarantine');
      expect(q, r.stdout).toMatchObject({ status: 'done' });
      itemId = q!.id!;
      expect(existsSync(download())).toBe(false);

      const onDisk = readFileSync(keyFile());
      expect(onDisk.subarray(0, MAGIC.length).equals(MAGIC)).toBe(true);
      // A scope byte and DPAPI's blob after it: far longer than the 32-byte key a Linux home keeps in the clear.
      expect(onDisk[MAGIC.length]).toBe(0x55); // 'U': user scope
      expect(onDisk.length).toBeGreaterThan(MAGIC.length + 1 + 32 + 16);
    });

    it('restores the item: the agent and the CLI, separate processes of the same user, unwrap the same key', async () => {
      const r = await sandgate(['quarantine', 'restore', itemId]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(download(), 'utf8')).toBe(EICAR);
    });

    it('a key blob changed by one byte gives QUARANTINE_KEY_UNUSABLE, not a crash; the intact file works again', async () => {
      // Quarantined again (by the running agent, with the key it unwrapped), then the blob is tampered with.
      const again = await sandgate(['submit', winPath(download()), '--wait', '--json']);
      expect(again.code, again.stderr).toBe(1);
      const id = (JSON.parse(again.stdout.trim().split('\n')[0]!) as { actions: { type: string; id?: string }[] }).actions.find(
        (a) => a.type === 'quarantine',
      )!.id!;
      const intact = join(h.root, 'quarantine.key.intact');
      copyFileSync(keyFile(), intact);
      const tampered = readFileSync(keyFile());
      tampered[tampered.length - 8]! ^= 0x01;
      writeFileSync(keyFile(), tampered);

      const refused = await sandgate(['quarantine', 'restore', id]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^error\[QUARANTINE_KEY_UNUSABLE\]: .*Windows refused to unwrap it/m);
      expect(existsSync(download())).toBe(false);

      // A raw 32-byte key where the wrapped one belongs (a Linux home's key file copied over) is refused the same way.
      writeFileSync(keyFile(), Buffer.alloc(32, 7));
      const raw = await sandgate(['quarantine', 'restore', id]);
      expect(raw.code).toBe(2);
      expect(raw.stderr).toMatch(/^error\[QUARANTINE_KEY_UNUSABLE\]: .*not a DPAPI-wrapped Sandgate key file/m);

      copyFileSync(intact, keyFile());
      const ok = await sandgate(['quarantine', 'restore', id]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(readFileSync(download(), 'utf8')).toBe(EICAR);
    });

    it("another Windows user cannot unwrap the key file (Wine binds its DPAPI blob to the user's name)", async () => {
      const again = await sandgate(['submit', winPath(download()), '--wait', '--json']);
      expect(again.code, again.stderr).toBe(1);
      const id = (JSON.parse(again.stdout.trim().split('\n')[0]!) as { actions: { type: string; id?: string }[] }).actions.find(
        (a) => a.type === 'quarantine',
      )!.id!;
      // Wine takes the Windows user from $USER; the home is the same folder, copied key file and all.
      const other = await sandgate(['quarantine', 'restore', id], { USER: 'sandgate-other', LOGNAME: 'sandgate-other' });
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/^error\[QUARANTINE_KEY_UNUSABLE\]/m);
      expect(existsSync(download())).toBe(false);
    });

    it('an agent started with a key it cannot unwrap says QUARANTINE_KEY_UNUSABLE at start and still answers', async () => {
      serve!.child.kill('SIGKILL');
      await serve!.exited;
      const tampered = readFileSync(keyFile());
      tampered[tampered.length - 8]! ^= 0x01;
      writeFileSync(keyFile(), tampered);
      serve = spawnWine(w(), w().nodeExe, [SANDGATE_SHIM, 'serve'], { outDir: h.outDir, env: env() });
      await waitFor(serve, /agent service listening/);
      expect(serve.stderr()).toMatch(/the quarantine key cannot be used.*QUARANTINE_KEY_UNUSABLE/);
      const status = await sandgate(['status']);
      expect(status.code, status.stderr).toBe(0);
    });
  },
);
