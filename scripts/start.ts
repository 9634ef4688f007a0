/**
 * `npm start`: the whole stack on this machine. sandgate-lab on loopback with its own certificate, a policy that pins
 * it, the agent service in the foreground, the native host registered for the browsers found here, and the built
 * extension. Ctrl-C stops everything. An existing policy that npm start did not write is left alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab } from '../sandbox-server/src/lab-server.ts';
import { installNativeHost } from '../native-host/src/install/install.ts';
import { sandgateHome, sandgatePaths } from '../native-host/src/config/paths.ts';
import { CHROMIUM_EXTENSION_ID, type PolicyInput } from '@sandgate/shared';
import { startDownloadServer } from './lib/download-page.ts';

const root = join(import.meta.dirname, '..');
const home = sandgateHome();
const paths = sandgatePaths(home);
const port = Number(process.env.SANDGATE_LAB_PORT ?? 8443);
const say = (s = '') => process.stdout.write(s + '\n');

mkdirSync(home, { recursive: true, mode: 0o700 });

say('building the extension…');
const build = spawnSync('npm', ['run', 'build', '-w', 'extension'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  process.stderr.write('error[INTERNAL]: the extension build failed (see above)\n');
  process.exit(2);
}

const lab = await startLab({ port, host: '127.0.0.1', dataDir: join(home, 'lab') });

// The policy written here is marked by a sidecar file so a later npm start may refresh it, but never overwrites a
// policy an administrator wrote.
const marker = paths.defaultPolicy + '.npm-start';
// It carries the lab's client token, so it stays 0600 like the token file itself.
const policy: PolicyInput = {
  sandbox: { servers: [{ url: lab.url, token: lab.token }], serverCertificate: lab.certPath, connectTimeoutMs: 500 },
  response: { quarantine: true },
};
if (!existsSync(paths.defaultPolicy) || existsSync(marker)) {
  writeFileSync(paths.defaultPolicy, JSON.stringify(policy, null, 2) + '\n', { mode: 0o600 });
  chmodSync(paths.defaultPolicy, 0o600);
  writeFileSync(marker, 'written by npm start; delete this file to keep npm start from rewriting policy.json\n');
} else {
  const current = readFileSync(paths.defaultPolicy, 'utf8');
  if (!current.includes(lab.url)) say(`note: ${paths.defaultPolicy} is yours and does not name ${lab.url}; left as it is`);
  else if (!current.includes(lab.token))
    say(`note: ${paths.defaultPolicy} is yours and names ${lab.url} without its token: add "token" with the content of ${lab.tokenPath}`);
}

const browsers = (['chromium', 'chrome', 'edge', 'brave', 'firefox'] as const).filter((b) => browserPresent(b));
const registered: string[] = [];
for (const browser of browsers.length ? browsers : (['chromium'] as const)) {
  const r = await installNativeHost({ browser, scope: 'user', home });
  registered.push(...r.manifests);
}

// A page with test downloads, so the demo needs no network and no real malware. Port 8080 when free.
const page = await startDownloadServer({ port: Number(process.env.SANDGATE_DEMO_PORT ?? 8080) }).catch(() => startDownloadServer());

const agent = spawn(process.execPath, [join(root, 'native-host/bin/sandgate.mjs'), 'serve'], {
  cwd: root,
  env: { ...process.env, SANDGATE_HOME: home },
  stdio: ['ignore', 'inherit', 'inherit'],
});

say(`
Sandgate is running.
  sandgate-lab        ${lab.url}  (certificate: ${lab.certPath}; client token: ${lab.tokenPath})
  agent home          ${home}
  policy              ${paths.defaultPolicy}
  native host         ${registered.join('\n                      ') || '(no browser found)'}
  extension           ${join(root, 'extension/.output/chrome-mv3')}  (ID ${CHROMIUM_EXTENSION_ID})
  test downloads      ${page.pageUrl}

Load the extension: open chrome://extensions, switch on Developer mode, "Load unpacked", pick the folder above.
Then open ${page.pageUrl} and download eicar.com (the EICAR test file): it leaves the download folder for
quarantine within seconds; clean.pdf stays. Watch it from another terminal:
  npx sandgate events --follow        npx sandgate quarantine list        npx sandgate status
Ctrl-C stops everything.`);

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode !== null ? r(null) : agent.once('exit', r)));
    await lab.close();
    await page.close();
    say(`\nstopped: the agent, sandgate-lab and the test page. State stays in ${home}; the native host stays`);
    say('registered (`npx sandgate uninstall --browser all` removes it).');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
agent.on('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`the agent stopped (exit ${code}); see the messages above\n`);
    void stop(2);
  }
});

function browserPresent(b: string): boolean {
  const bins: Record<string, string[]> = {
    chromium: ['chromium', 'chromium-browser'],
    chrome: ['google-chrome', 'google-chrome-stable'],
    edge: ['microsoft-edge', 'microsoft-edge-stable'],
    brave: ['brave-browser'],
    firefox: ['firefox', 'firefox-esr'],
  };
  return (bins[b] ?? []).some((bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0);
}
