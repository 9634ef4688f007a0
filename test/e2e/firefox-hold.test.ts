import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HELD_SUFFIX } from '@sandgate/shared';
import { eicarBytes, setupExeBytes, startDownloadServer, type DownloadServer } from '../../scripts/lib/download-page.ts';
import { EXTENSION_JOBS_KEY } from '#test-helpers/browser.ts';
import {
  createFirefoxDirs,
  launchFirefox,
  removeFirefoxDirs,
  writeFirefoxManagedStorage,
  type FirefoxDirs,
  type FirefoxSession,
} from '#test-helpers/firefox.ts';
import { pollFor, runSandgate, startStack, type Stack, quarantineList as quarantineListOf } from '#test-helpers/stack.ts';

// Issue 7 in Firefox: there is no downloads.onDeterminingFilename, so a download policy holds lands under its own
// name and the agent holds it at once (`hold-landed`: every permission bit removed, moved to `.sandgate-hold`). A clean
// verdict gives it back byte-identical with its mode; a malicious one is quarantined from its held name. Policy comes
// from Firefox's managed storage (`pendingVerdict: {default: 'hold'}`). Durations are never asserted.

const downloadSchema = z.object({ id: z.number(), state: z.string(), filename: z.string() });

let dirs: FirefoxDirs;
let stack: Stack;
let server: DownloadServer;
let firefox: FirefoxSession;
let goodPolicy: string;

beforeAll(async () => {
  dirs = createFirefoxDirs();
  writeFirefoxManagedStorage(dirs.home, { capture: { pendingVerdict: { default: 'hold', onUnavailable: 'keep' } } });
  stack = await startStack({ startAgent: false, capture: { downloadDirs: [dirs.downloadDir] } });
  goodPolicy = readFileSync(stack.policyPath, 'utf8');
  const install = await runSandgate(['install', '--browser', 'firefox'], { env: { ...stack.env, HOME: dirs.home } });
  if (install.code !== 0) throw new Error(`sandgate install --browser firefox failed (exit ${install.code}): ${install.stderr}`);
  server = await startDownloadServer();
  firefox = await launchFirefox({ dirs, env: stack.env });
  await pollFor('the extension to apply the hold policy', async () => {
    const s = z
      .object({ 'sandgate.settings': z.object({ locked: z.array(z.string()) }).optional() })
      .parse(await firefox.evaluate(firefox.extensionContext, `browser.storage.local.get('sandgate.settings')`))['sandgate.settings'];
    return s?.locked.includes('pendingVerdict') ? true : undefined;
  });
});

afterEach(({ task }) => {
  if (task.result?.state !== 'fail' || !stack) return;
  process.stderr.write(`--- agent log ---\n${stack.agentLog()}\n--- firefox ---\n${firefox?.log() ?? ''}\n`);
});

afterAll(async () => {
  await firefox?.close();
  await stack?.close();
  await server?.close();
  removeFirefoxDirs(dirs);
});

async function download(name: string): Promise<z.infer<typeof downloadSchema>> {
  await firefox.navigate(firefox.pageContext, server.pageUrl);
  const url = server.fileUrl(name);
  await firefox.evaluate(firefox.pageContext, `document.getElementById(${JSON.stringify(name)}).click()`, { userActivation: true });
  return pollFor(`Firefox to finish the download of ${url}`, async () => {
    const items = z
      .array(downloadSchema)
      .parse(await firefox.evaluate(firefox.extensionContext, `browser.downloads.search({ url: ${JSON.stringify(url)} })`));
    return items.find((d) => d.state === 'complete');
  });
}

async function record(id: number): Promise<Record<string, unknown> | undefined> {
  const all = (await firefox.evaluate(
    firefox.extensionContext,
    `browser.storage.local.get(${JSON.stringify(EXTENSION_JOBS_KEY)})`,
  )) as Record<string, unknown>;
  const jobs = all[EXTENSION_JOBS_KEY] as Record<string, Record<string, unknown>> | undefined;
  return jobs?.[String(id)];
}

const quarantineList = () => quarantineListOf(stack);

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const modeOf = (p: string) => lstatSync(p).mode & 0o7777;

describe('in Firefox, a download held until its verdict by the agent', () => {
  it('a held executable cannot be found or opened under its final name before the verdict, and comes back byte-identical with its mode', async () => {
    // The mode Firefox gives a download nobody holds, to compare with.
    const png = await download('picture.png');
    const plainMode = modeOf(png.filename);

    // No server reachable, so no verdict can come: with "keep" the download must stay held.
    const policy = JSON.parse(goodPolicy) as { sandbox: Record<string, unknown> };
    policy.sandbox['servers'] = [{ url: `https://127.0.0.1:${await closedPort()}` }];
    writeFileSync(stack.policyPath, JSON.stringify(policy), { mode: 0o600 });
    await stack.stopAgent();

    const bytes = setupExeBytes();
    bytes.write('held in Firefox', 300, 'latin1');
    server.addFile('ff-held.exe', bytes, 'application/x-msdownload');
    const item = await download('ff-held.exe');
    const finalPath = join(dirs.downloadDir, 'ff-held.exe');
    const heldPath = `${finalPath}${HELD_SUFFIX}`;
    expect(item.filename).toBe(finalPath);

    const held = await pollFor('the agent to hold and accept the download', async () => {
      const r = await record(item.id);
      return r?.['hold'] === 'held' && r['submitted'] === true && r['jobId'] ? r : undefined;
    });
    expect(held).toMatchObject({ path: heldPath, landedPath: finalPath, fileName: 'ff-held.exe' });
    expect(['queued', 'analysing']).toContain(held['state']);
    expect(existsSync(finalPath)).toBe(false);
    // No permission bit at all: nobody but root can open it, even knowing its held name.
    expect(modeOf(heldPath)).toBe(0);

    // A server is back: the verdict comes, and only then does the file reappear under its name.
    writeFileSync(stack.policyPath, goodPolicy, { mode: 0o600 });
    await stack.stopAgent();
    await pollFor('the released file under its final name', () => (existsSync(finalPath) ? true : undefined), 60_000);
    expect(readFileSync(finalPath).equals(bytes)).toBe(true);
    // The bits the agent recorded when it held the file; the extension never names a mode.
    expect(modeOf(finalPath)).toBe(plainMode);
    expect(existsSync(heldPath)).toBe(false);
    const released = await pollFor('the record to say released', async () => {
      const r = await record(item.id);
      return r?.['hold'] === 'released' ? r : undefined;
    });
    expect(released).toMatchObject({ state: 'clean', path: finalPath });
    expect(stack.events().some((e) => e.type === 'held-released' && e.path === finalPath)).toBe(true);
  });

  it('a held EICAR is taken off its final name and ends in quarantine from its held name', async () => {
    server.addFile('ff-eicar.com', eicarBytes(), 'application/octet-stream');
    const item = await download('ff-eicar.com');
    const finalPath = join(dirs.downloadDir, 'ff-eicar.com');
    const heldPath = `${finalPath}${HELD_SUFFIX}`;
    const q = await pollFor(
      'the held EICAR in the quarantine',
      async () => (await quarantineList()).find((i) => i.originalPath === heldPath),
      60_000,
    );
    expect(q.threat).toMatch(/EICAR/i);
    await pollFor('the record to show the quarantine', async () => {
      const r = await record(item.id);
      return r?.['state'] === 'malicious' && r['quarantineId'] ? r : undefined;
    });
    expect(existsSync(finalPath)).toBe(false);
    expect(existsSync(heldPath)).toBe(false);
  });
});
