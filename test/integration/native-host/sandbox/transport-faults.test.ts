import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policySchema, type AgentEvent, type ErrorCode, type Job, type PolicyInput } from '@sandgate/shared';
import { createAgent, type Agent, type CreateAgentOptions } from '#native-host/agent/agent.ts';
import { formatStatus } from '#native-host/cli/status-command.ts';
import { realClock, type Clock } from '#native-host/clock.ts';
import { loadPolicyFile, type LoadedPolicy } from '#native-host/config/load-policy.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { makeCa, makeLeaf, toPfx, type Pem } from '#test-helpers/pki.ts';
import { freePort, startLabServer, type LabServer } from '#test-helpers/lab-protocol-server.ts';
import {
  certificateFaults,
  startBlackHole,
  startFaultyHttpsServer,
  startFlappingProxy,
  startHealthFront,
  startPlaintextServer,
  startTls11OnlyServer,
} from '#test-helpers/faulty-servers.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
let bad: ReturnType<typeof certificateFaults>;
let root: string;
let home: string;
let downloads: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
  bad = certificateFaults(ca);
});
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-faults-')));
  home = join(root, 'home');
  downloads = join(root, 'Downloads');
  mkdirSync(downloads, { recursive: true });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

/** Real time, with every pause (between rounds, before probes, between polls) cut short so recoveries come quickly. */
const quick = (capMs: number): Clock => ({ ...realClock, sleep: (ms, signal) => realClock.sleep(Math.min(ms, capMs), signal) });

function loaded(servers: PolicyInput['sandbox']['servers']): LoadedPolicy {
  const policy = policySchema.parse({ sandbox: { servers, serverCertificate: ca.cert, analysisTimeoutMs: 20_000 } });
  return { policy, path: join(root, 'policy.json'), serverCa: ca.cert };
}

async function agentFor(l: LoadedPolicy, extra: Partial<CreateAgentOptions> = {}): Promise<Agent> {
  const a = await createAgent({
    home,
    loaded: l,
    appVersion: '0.1.0-test',
    clock: realClock,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    ...extra,
  });
  cleanups.push(() => a.close());
  return a;
}

async function lab(opts: Partial<Parameters<typeof startLabServer>[0]> = {}): Promise<LabServer> {
  const s = await startLabServer({ tls: leaf, name: 'good', ...opts });
  cleanups.push(() => s.close());
  return s;
}

function closing<T extends { close(): Promise<void> }>(s: T): T {
  cleanups.push(() => s.close());
  return s;
}

function download(name: string, content: Buffer | string): string {
  const p = join(downloads, name);
  writeFileSync(p, content);
  return p;
}

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const browser = { source: 'browser' as const, browser: 'chromium', url: 'https://example.org/file' };

/** Submits one download and resolves with its finished job; bounded by the test timeout, never by a guess about speed. */
async function judge(agent: Agent, name: string, content: Buffer | string = `MZ ${name} ${randomBytes(8).toString('hex')}`): Promise<Job> {
  const { jobId } = await agent.submit(download(name, content), browser);
  return until(() => {
    const j = agent.getJob(jobId);
    return j && (j.state === 'done' || j.state === 'error') ? j : undefined;
  });
}

const events = (): AgentEvent[] => new EventLog(sandgatePaths(home).events).read().events;
const serverErrors = () => events().filter((e) => e.type === 'server-error');

function uploadsPerSha(...servers: LabServer[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const s of servers) for (const u of s.uploads) n.set(sha(u), (n.get(sha(u)) ?? 0) + 1);
  return n;
}

/**
 * The scenario every fault shares, as the person at the keyboard sees it: the first download still gets its verdict,
 * from the next server; the event log names the broken server and says what was wrong with it; the second download
 * does not wait for the broken server at all; `sandgate status` shows it skipped; each object was uploaded once.
 */
async function failsOverFrom(faulty: { url: string }, code: ErrorCode, extra: Partial<CreateAgentOptions> = {}, content?: Buffer) {
  const good = await lab();
  const agent = await agentFor(loaded([{ url: faulty.url }, { url: good.url }]), extra);

  const first = await judge(agent, 'first.exe', content);
  expect(first).toMatchObject({ state: 'done', verdict: { level: 'clean', server: good.url } });
  expect(serverErrors()).toEqual([expect.objectContaining({ server: faulty.url, code, jobId: first.jobId, sha256: first.sha256 })]);

  const second = await judge(agent, 'second.exe');
  expect(second).toMatchObject({ state: 'done', verdict: { server: good.url } });
  expect(serverErrors()).toHaveLength(1);

  const [broken] = agent.status().servers;
  expect(broken).toMatchObject({ url: faulty.url, state: 'failing', skippedUntilProbe: true, skippedRequests: 1, lastError: { code } });
  expect(formatStatus(agent.status())).toMatch(/failing, SERVER_SKIPPED \(1 request\(s\) sent elsewhere/);

  expect([...uploadsPerSha(good).entries()].sort()).toEqual(
    [
      [first.sha256, 1],
      [second.sha256, 1],
    ].sort(),
  );
  return { good, agent, first };
}

describe('transport faults: the verdict still arrives from the next server', () => {
  it('a server that accepts TCP but never answers TLS costs one connect timeout, then is passed over', async () => {
    const hole = closing(await startBlackHole());
    await failsOverFrom(hole, 'SERVER_CONNECT_TIMEOUT');
    expect(hole.connections()).toBeGreaterThanOrEqual(1);
  });

  it('a server answering HTTP 500', async () => {
    const s = closing(await startFaultyHttpsServer({ tls: leaf, fault: 'http-500' }));
    await failsOverFrom(s, 'SERVER_ERROR');
    expect(s.requests.filter((r) => r.startsWith('POST'))).toEqual([]);
  });

  it('a server answering with broken JSON', async () => {
    const s = closing(await startFaultyHttpsServer({ tls: leaf, fault: 'garbage-json' }));
    await failsOverFrom(s, 'SERVER_RESPONSE_INVALID');
  });

  it('a server presenting a certificate from another CA', async () => {
    const s = await lab({ tls: bad.wrongCa, name: 'impostor' });
    await failsOverFrom(s, 'TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });

  it('a server presenting an expired certificate', async () => {
    const s = await lab({ tls: bad.expired, name: 'expired' });
    await failsOverFrom(s, 'TLS_CERTIFICATE_EXPIRED');
    expect(s.transcript).toEqual([]);
  });

  it('a server presenting a certificate that is not valid yet', async () => {
    const s = await lab({ tls: bad.notYetValid, name: 'early' });
    await failsOverFrom(s, 'TLS_CERTIFICATE_EXPIRED');
  });

  it('a server whose certificate names another host than the IP address in its URL', async () => {
    const s = await lab({ tls: bad.onlyLocalhost, name: 'misnamed' });
    await failsOverFrom(s, 'TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('a server whose certificate names only its IP address (the host name in its URL only as common name)', async () => {
    const s = await lab({ tls: bad.onlyIp, name: 'misnamed' });
    await failsOverFrom({ url: s.url.replace('127.0.0.1', 'localhost') }, 'TLS_HOSTNAME_MISMATCH');
    expect(s.transcript).toEqual([]);
  });

  it('a plaintext HTTP server where HTTPS is expected', async () => {
    const s = closing(await startPlaintextServer());
    await failsOverFrom(s, 'TLS_HANDSHAKE_FAILED');
    expect(s.requests).toEqual([]);
  });

  it('a server that resets the connection mid-upload: the object is uploaded whole to the next server, once', async () => {
    const s = closing(await startFaultyHttpsServer({ tls: leaf, fault: 'reset-mid-upload' }));
    const big = Buffer.concat([Buffer.from('MZ'), randomBytes(2 * 1024 * 1024)]);
    const { good, first } = await failsOverFrom(s, 'SERVER_UNREACHABLE', {}, big);
    expect(s.partialUploads()).toBe(1);
    expect(first.sha256).toBe(sha(big));
    expect(good.uploads.filter((u) => u.equals(big))).toHaveLength(1);
  });

  it('a server that stalls after sending its headers', async () => {
    const s = closing(await startFaultyHttpsServer({ tls: leaf, fault: 'stall-after-headers' }));
    await failsOverFrom(s, 'SERVER_TIMEOUT', { idleTimeoutMs: 1000 });
  });
});

describe('transport faults: outages', () => {
  it('with every server down for a while, each queued object is delivered exactly once when they come back, and the recovery is recorded', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const urlA = `https://127.0.0.1:${portA}`;
    const urlB = `https://127.0.0.1:${portB}`;
    const agent = await agentFor(loaded([{ url: urlA }, { url: urlB }]), { clock: quick(50) });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await agent.submit(download(`f${i}.exe`, `MZ outage ${i} ${randomBytes(8).toString('hex')}`), browser)).jobId);

    // The jobs being tried go back to the queue with the reason, the rest wait behind them; none is given up.
    await until(() => (ids.some((id) => agent.getJob(id)?.error?.code === 'ALL_SERVERS_FAILED') ? true : undefined));
    expect(ids.filter((id) => !['queued', 'analysing'].includes(agent.getJob(id)!.state))).toEqual([]);
    expect(agent.status().servers).toEqual([
      expect.objectContaining({ url: urlA, state: 'failing', skippedUntilProbe: true }),
      expect.objectContaining({ url: urlB, state: 'failing', skippedUntilProbe: true }),
    ]);

    const transcript: string[] = [];
    const a = await lab({ name: 'A', transcript });
    const b = await lab({ name: 'B', transcript });
    closing(await startHealthFront(a.port, { tls: leaf, port: portA }));
    closing(await startHealthFront(b.port, { tls: leaf, port: portB }));
    const jobs = await until(() => {
      const js = ids.map((id) => agent.getJob(id)!);
      return js.every((j) => j.state === 'done') ? js : undefined;
    });
    expect(jobs.every((j) => j.verdict?.level === 'clean' && !j.error)).toBe(true);
    const perSha = uploadsPerSha(a, b);
    expect(jobs.map((j) => perSha.get(j.sha256))).toEqual(jobs.map(() => 1));
    const verdicts = events().filter((e) => e.type === 'verdict');
    expect(verdicts.map((e) => e.jobId).sort()).toEqual([...ids].sort());

    // A server that answers a probe (or a request) again is announced once per outage.
    const recovered = await until(() => {
      const r = events().filter((e) => e.type === 'server-recovered');
      return r.length === 2 ? r : undefined;
    });
    expect(recovered.map((e) => e.server).sort()).toEqual([urlA, urlB].sort());
    expect(agent.status().servers.map((s) => [s.state, s.skippedUntilProbe])).toEqual([
      ['healthy', undefined],
      ['healthy', undefined],
    ]);
  });

  it('a server that keeps going down and coming back under 2,000 queued objects: nothing lost, nothing uploaded twice', async () => {
    const labA = await lab({ name: 'A' });
    const frontA = closing(await startHealthFront(labA.port, { tls: leaf }));
    const flapping = closing(await startFlappingProxy(frontA.port));
    const labB = await lab({ name: 'B' });
    const agent = await agentFor(loaded([{ url: flapping.url }, { url: labB.url }]), { clock: quick(20) });
    // Down after every 100 verdicts, back after the next 100: the flapping follows the work, not the wall clock.
    const finished = new Map<string, Job>();
    agent.onJobUpdate((j) => {
      if (j.state !== 'done' && j.state !== 'error') return;
      finished.set(j.jobId, j);
      if (finished.size % 100 !== 0) return;
      if (flapping.isUp()) flapping.goDown();
      else flapping.comeBack();
    });
    const N = 2000;
    const ids: string[] = [];
    // Submitted 50 at a time, as a burst of downloads would arrive.
    for (let i = 0; i < N; i += 50) {
      const batch = Array.from({ length: 50 }, (_, k) =>
        agent.submit(download(`o${i + k}.bin`, `object ${i + k} ${randomBytes(6).toString('hex')}`), browser),
      );
      for (const r of await Promise.all(batch)) ids.push(r.jobId);
    }

    const jobs = await until(() => (finished.size === N ? ids.map((id) => finished.get(id)!) : undefined));
    expect(jobs.filter((j) => j.state !== 'done' || !j.verdict)).toEqual([]);
    expect(agent.status().queue.objects).toBe(0);

    const evs = events();
    const verdictJobs = evs.filter((e) => e.type === 'verdict').map((e) => e.jobId!);
    expect(verdictJobs.length).toBe(N);
    expect(new Set(verdictJobs).size).toBe(N);
    // No server holds two complete uploads of one object, and every object reached a server that judged it.
    for (const s of [labA, labB]) expect(Math.max(...uploadsPerSha(s).values())).toBe(1);
    const both = uploadsPerSha(labA, labB);
    expect(jobs.filter((j) => !both.has(j.sha256))).toEqual([]);
    // It did flap: the first outage found the flapping server in use and the log names it.
    expect(evs.some((e) => e.type === 'server-error' && e.server === flapping.url)).toBe(true);
    expect(evs.some((e) => e.type === 'server-error' && e.server === labB.url)).toBe(false);
  }, 300_000);
});

describe('pinned TLS, 1.2 or newer, with the client certificate from the policy', () => {
  it('refuses a server that speaks only TLS 1.1 (this OpenSSL still offers it at SECLEVEL=0) with TLS_HANDSHAKE_FAILED', async () => {
    const old = closing(await startTls11OnlyServer(leaf));
    expect(await old.legacyProtocol(ca.cert)).toBe('TLSv1.1');
    await failsOverFrom(old, 'TLS_HANDSHAKE_FAILED');
    expect(old.requests).toEqual([]);
  });

  async function policyWithClientCert(servers: string[], clientCertificate?: Record<string, string>): Promise<LoadedPolicy> {
    writeFileSync(join(root, 'server-ca.pem'), ca.cert);
    const policy = {
      sandbox: {
        servers: servers.map((url) => ({ url })),
        serverCertificate: 'server-ca.pem',
        ...(clientCertificate ? { clientCertificate } : {}),
      },
    };
    writeFileSync(join(root, 'policy.json'), JSON.stringify(policy));
    return loadPolicyFile(join(root, 'policy.json'));
  }

  const clientCertForms: Array<[string, (pem: Pem) => Record<string, string>]> = [
    [
      'PEM certificate and key',
      (pem) => {
        writeFileSync(join(root, 'client.pem'), pem.cert);
        writeFileSync(join(root, 'client.key'), pem.key);
        return { cert: 'client.pem', key: 'client.key' };
      },
    ],
    [
      'PEM certificate and a key encrypted with a passphrase',
      (pem) => {
        writeFileSync(join(root, 'client.pem'), pem.cert);
        const encrypted = createPrivateKey(pem.key).export({
          type: 'pkcs8',
          format: 'pem',
          cipher: 'aes-256-cbc',
          passphrase: 'open sesame',
        });
        writeFileSync(join(root, 'client.key'), encrypted);
        return { cert: 'client.pem', key: 'client.key', passphrase: 'open sesame' };
      },
    ],
    [
      'PKCS#12 with a passphrase',
      (pem) => {
        writeFileSync(join(root, 'client.p12'), toPfx(pem, 'open sesame'));
        return { pfx: 'client.p12', passphrase: 'open sesame' };
      },
    ],
    [
      'PKCS#12 without a passphrase',
      (pem) => {
        writeFileSync(join(root, 'client.p12'), toPfx(pem, ''));
        return { pfx: 'client.p12' };
      },
    ],
  ];

  it.each(clientCertForms)('a server that requires a client certificate accepts ours given as %s', async (_form, write) => {
    const mtls = await lab({ clientCa: ca.cert, name: 'mtls' });
    const agent = await agentFor(await policyWithClientCert([mtls.url], write(makeLeaf(ca, { client: true }))));
    const job = await judge(agent, 'a.exe');
    expect(job).toMatchObject({ state: 'done', verdict: { server: mtls.url } });
    expect(serverErrors()).toEqual([]);
    expect(mtls.uploads).toHaveLength(1);
  });

  it('a server that requires a client certificate refuses an agent without one, with a coded error, and the next server answers', async () => {
    const mtls = await lab({ clientCa: ca.cert, name: 'mtls' });
    const good = await lab();
    const agent = await agentFor(await policyWithClientCert([mtls.url, good.url]));
    const job = await judge(agent, 'a.exe');
    expect(job.verdict?.server).toBe(good.url);
    expect(serverErrors()).toEqual([
      expect.objectContaining({ server: mtls.url, code: 'TLS_HANDSHAKE_FAILED', message: expect.stringContaining('client certificate') }),
    ]);
    expect(mtls.uploads).toEqual([]);
  });
});
