import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '@sandgate/shared';
import { createAgent } from '#native-host/agent/agent.ts';
import { checkPolicyHealth } from '#native-host/sandbox/check-policy-health.ts';
import { loadPolicyFile } from '#native-host/config/load-policy.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { startLab } from '#lab/lab-server.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';

/**
 * PRODUCT.md: a sandbox server is named by an IPv4 address, an IPv6 address in brackets, or a domain name. Each form
 * here is a real sandgate-lab on loopback and the real agent, which has to judge EICAR through it: the job ends with
 * the lab's malicious verdict and the file in quarantine. IPv4 is what every other test uses.
 */

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const SHIM = resolve(import.meta.dirname, '../../../../sandbox-server/bin/sandgate-lab.mjs');

let ca: ReturnType<typeof makeCa>;
let root: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
});
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-address-forms-')));
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const p = join(root, name);
  writeFileSync(p, content);
  return p;
}

/** A lab in this process, serving `tls` (written to files, as `--tls-cert/--tls-key` take them) on `host`. */
async function labWith(host: string, tls: Pem): Promise<{ url: string; token: string }> {
  const lab = await startLab({
    port: 0,
    host,
    dataDir: join(root, 'lab'),
    tlsCert: file('lab-cert.pem', tls.cert),
    tlsKey: file('lab-key.pem', tls.key),
  });
  cleanups.push(() => lab.close());
  return { url: lab.url, token: lab.token };
}

/** Writes the policy an administrator would, starts the agent from it, submits EICAR and waits for the job's end. */
async function judgeEicar(url: string, token: string, serverCertificate: string): Promise<Job> {
  const policy = file(
    'policy.json',
    JSON.stringify({ sandbox: { servers: [{ url, token }], serverCertificate, analysisTimeoutMs: 20_000 } }),
  );
  const home = join(root, 'home');
  const agent = await createAgent({
    home,
    loaded: await loadPolicyFile(policy),
    appVersion: '0.1.0-test',
    backoffBaseMs: 20,
    backoffMaxMs: 100,
  });
  cleanups.push(() => agent.close());
  const downloads = join(root, 'Downloads');
  mkdirSync(downloads, { recursive: true });
  const eicar = join(downloads, 'eicar.com');
  writeFileSync(eicar, EICAR);
  const { jobId } = await agent.submit(eicar, { source: 'cli' });
  const events = new EventLog(sandgatePaths(home).events);
  for (;;) {
    const j = agent.getJob(jobId);
    if (j && (j.state === 'done' || j.state === 'error')) return j;
    // A server the agent cannot talk to keeps the job queued for ever: say why at once rather than at the test timeout.
    const refused = events.read().events.find((e) => e.type === 'server-error');
    if (refused) throw new Error(`the agent could not use ${url}: ${refused.code} ${refused.message}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectEicarCaught(job: Job, url: string) {
  expect(job.error).toBeUndefined();
  expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious', threat: expect.stringContaining('EICAR'), server: url } });
  expect(job.actions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'quarantine', status: 'done' })]));
}

/** `sandgate-lab serve …` as a user runs it; resolves with what `--json` prints once it listens. */
async function labCommand(args: string[]): Promise<{ url: string; certPath: string; token: string }> {
  const child: ChildProcess = spawn(process.execPath, [SHIM, 'serve', '--port', '0', '--data', join(root, 'lab-cli'), '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((ok) => child.once('exit', ok));
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout! }).once('line', ok);
    child.once('exit', (code) => fail(new Error(`sandgate-lab exited ${code}: ${stderr}`)));
  });
  const started = JSON.parse(line) as { url: string; certPath: string; tokenPath: string };
  return { ...started, token: readFileSync(started.tokenPath, 'utf8').trim() };
}

describe('sandbox servers by IPv6 address and by name', () => {
  it('a lab on [::1] whose CA-issued certificate names only the address ::1 judges EICAR for the agent', async () => {
    const { url, token } = await labWith('::1', makeLeaf(ca, { hosts: ['::1'] }));
    expect(url).toMatch(/^https:\/\/\[::1\]:\d+$/);
    expectEicarCaught(await judgeEicar(url, token, ca.cert), url);
  });

  it('`sandgate-lab serve --host [::1]` makes a certificate naming ::1, and an agent pinning it judges EICAR there', async () => {
    const lab = await labCommand(['--host', '[::1]']);
    expect(lab.url).toMatch(/^https:\/\/\[::1\]:\d+$/);
    expectEicarCaught(await judgeEicar(lab.url, lab.token, lab.certPath), lab.url);
  });

  it('a lab at https://localhost whose certificate names only DNS:localhost judges EICAR for the agent', async () => {
    const { url, token } = await labWith('localhost', makeLeaf(ca, { hosts: ['localhost'] }));
    expect(url).toMatch(/^https:\/\/localhost:\d+$/);
    expectEicarCaught(await judgeEicar(url, token, ca.cert), url);
  });

  it('doctor probes an IPv6 server over the pinned TLS and says so under the URL as written in the policy', async () => {
    const { url, token } = await labWith('::1', makeLeaf(ca, { hosts: ['::1'] }));
    const policy = file('policy.json', JSON.stringify({ sandbox: { servers: [{ url, token }], serverCertificate: ca.cert } }));
    const { checks } = await checkPolicyHealth({ home: join(root, 'home'), env: {}, explicit: policy });
    expect(checks.find((c) => c.check === `server ${url}`)).toMatchObject({ status: 'ok' });
  });
});
