import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policySchema, type AgentEvent, type Job, type PolicyInput } from '@sandgate/shared';
import { createAgent, type Agent, type CreateAgentOptions } from '../../../../native-host/src/agent/agent.ts';
import { realClock, type Clock } from '../../../../native-host/src/clock.ts';
import type { LoadedPolicy } from '../../../../native-host/src/config/load-policy.ts';
import { sandgatePaths } from '../../../../native-host/src/config/paths.ts';
import { EventLog } from '../../../../native-host/src/events/event-log.ts';
import { RequestQueue } from '../../../../native-host/src/queue/request-queue.ts';
import { list as listQuarantine } from '../../../../native-host/src/quarantine/list-items.ts';
import { makeCa, makeLeaf, type Pem } from '../../../helpers/pki.ts';
import { freePort, maliciousVerdict, startBlackHole, startLabServer, type LabServer } from '../../../helpers/lab-protocol-server.ts';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
let root: string;
let home: string;
let downloads: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
});
beforeEach(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'sg-agent-')));
  home = join(root, 'home');
  downloads = join(root, 'Downloads');
  mkdirSync(downloads, { recursive: true });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  rmSync(root, { recursive: true, force: true });
});

/** Real time, but the pause between failed rounds is kept short so "the server comes back" does not wait a minute. */
const quickRounds: Clock = { ...realClock, sleep: (ms, signal) => realClock.sleep(Math.min(ms, 50), signal) };

function loaded(servers: PolicyInput['sandbox']['servers'], extra: Partial<PolicyInput> = {}): LoadedPolicy {
  const policy = policySchema.parse({ sandbox: { servers, serverCertificate: ca.cert, connectTimeoutMs: 1000, analysisTimeoutMs: 20_000 }, ...extra });
  return { policy, path: join(root, 'policy.json'), serverCa: ca.cert };
}

async function agentFor(l: LoadedPolicy, extra: Partial<CreateAgentOptions> = {}): Promise<Agent> {
  const a = await createAgent({ home, loaded: l, appVersion: '0.1.0-test', clock: quickRounds, ...extra });
  cleanups.push(() => a.close());
  return a;
}

async function lab(opts: Partial<Parameters<typeof startLabServer>[0]> = {}): Promise<LabServer> {
  const s = await startLabServer({ tls: leaf, name: 'lab', ...opts });
  cleanups.push(() => s.close());
  return s;
}

function download(name: string, content: string): string {
  const p = join(downloads, name);
  writeFileSync(p, content);
  return p;
}

/** Resolves when the job is finished; bounded by the test timeout, never by a guess about speed. */
function finished(agent: Agent, jobId: string): Promise<Job> {
  return until(() => {
    const j = agent.getJob(jobId);
    return j && (j.state === 'done' || j.state === 'error') ? j : undefined;
  });
}

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const events = (): AgentEvent[] => new EventLog(sandgatePaths(home).events).read().events;
const browser = { source: 'browser' as const, browser: 'chromium', url: 'https://example.org/eicar.com' };

describe('agent service', () => {
  it('quarantines a malicious download once and reports it done', async () => {
    const s = await lab({ verdicts: { [sha(EICAR)]: maliciousVerdict() } });
    const agent = await agentFor(loaded([{ url: s.url }]));
    const updates: string[] = [];
    agent.onJobUpdate((j) => updates.push(j.state));
    const path = download('eicar.com', EICAR);

    const submitted = await agent.submit(path, browser);
    expect(submitted).toMatchObject({ sha256: sha(EICAR), size: EICAR.length, state: 'queued' });
    const job = await finished(agent, submitted.jobId);

    expect(job.verdict).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', server: s.url });
    expect(job.actions).toEqual([{ type: 'quarantine', status: 'done', id: expect.any(String) }]);
    expect(existsSync(path)).toBe(false);
    expect(listQuarantine(home)).toEqual([expect.objectContaining({ id: job.actions![0]!.id, originalPath: path, sha256: sha(EICAR) })]);
    expect(events().filter((e) => e.type === 'quarantined')).toHaveLength(1);
    expect(events().map((e) => e.type)).toEqual(['service-started', 'object-accepted', 'object-submitted', 'verdict', 'quarantined']);
    // The push may trail the journal by a moment; it must come, and last.
    await until(() => (updates.includes('done') ? true : undefined));
    expect(updates[0]).toBe('queued');
    expect(updates.at(-1)).toBe('done');
    expect(agent.status()).toMatchObject({
      servers: [{ url: s.url, state: 'healthy' }],
      queue: { objects: 0, bytes: 0 },
      recent: [{ jobId: job.jobId, level: 'malicious', threat: 'EICAR-Test-File' }],
    });
  });

  it('leaves a clean download where it is', async () => {
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]));
    const path = download('report.pdf', '%PDF-1.7 harmless');
    const job = await finished(agent, (await agent.submit(path, browser)).jobId);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'clean' }, actions: [] });
    expect(readFileSync(path, 'utf8')).toBe('%PDF-1.7 harmless');
  });

  it('says what an object really is, and flags an executable dressed up as a PDF while still analysing it', async () => {
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]));
    const honest = await finished(agent, (await agent.submit(download('report.pdf', '%PDF-1.7 harmless'), browser)).jobId);
    expect(honest.content).toEqual({ kind: 'document', format: 'pdf', disguised: false });

    const path = download('invoice.pdf', 'MZ\x90\x00 this is a PE stub');
    const job = await finished(agent, (await agent.submit(path, browser)).jobId);
    expect(job.content).toEqual({ kind: 'executable', format: 'pe', disguised: true });
    expect(job.verdict?.level).toBe('clean');
    // Both were uploaded: a lying name changes what the log says, never whether the sandbox sees the object.
    expect(s.transcript.filter((t) => t === 'lab POST /api/v1/submissions')).toHaveLength(2);
    expect(events().filter((e) => e.type === 'content-mismatch')).toEqual([
      expect.objectContaining({ jobId: job.jobId, path, content: 'executable/pe', message: expect.stringContaining('invoice.pdf') }),
    ]);
  });

  it('refuses a server with the wrong certificate, records it, and the next server answers', async () => {
    const impostor = await lab({ tls: makeLeaf(makeCa('Impostor CA')), name: 'impostor' });
    const good = await lab({ name: 'good' });
    const agent = await agentFor(loaded([{ url: impostor.url }, { url: good.url }]));
    const job = await finished(agent, (await agent.submit(download('a.exe', 'MZ a'), browser)).jobId);
    expect(job.verdict?.server).toBe(good.url);
    expect(events().filter((e) => e.type === 'server-error')).toEqual([
      expect.objectContaining({ server: impostor.url, code: 'TLS_CERTIFICATE_REJECTED', jobId: job.jobId }),
    ]);
    expect(impostor.transcript).toEqual([]);
    expect(agent.status().servers.map((x) => x.state)).toEqual(['failing', 'healthy']);
  });

  it('gives up on a black-holed server after the connect timeout and asks the next one', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const transcript: string[] = [];
    const good = await lab({ name: 'good', transcript });
    const agent = await agentFor(loaded([{ url: hole.url }, { url: good.url }]));
    const job = await finished(agent, (await agent.submit(download('a.exe', 'MZ b'), browser)).jobId);
    expect(job.verdict?.server).toBe(good.url);
    const tried = events()
      .filter((e) => e.type === 'server-error' || e.type === 'verdict')
      .map((e) => `${e.type} ${e.server} ${e.code ?? ''}`.trim());
    expect(tried).toEqual([`server-error ${hole.url} SERVER_CONNECT_TIMEOUT`, `verdict ${good.url}`]);
    expect(transcript[0]).toBe('good GET /api/v1/files/{sha}');
  });

  it('tries the next server when the first is of a kind this version cannot speak yet', async () => {
    const good = await lab();
    const agent = await agentFor(loaded([{ url: 'https://cape.corp.example', kind: 'cape', token: 'secret-token' }, { url: good.url }]));
    const job = await finished(agent, (await agent.submit(download('a.exe', 'MZ c'), browser)).jobId);
    expect(job.verdict?.server).toBe(good.url);
    const errs = events().filter((e) => e.type === 'server-error');
    expect(errs).toEqual([expect.objectContaining({ code: 'SERVER_KIND_UNSUPPORTED', server: 'https://cape.corp.example' })]);
    expect(JSON.stringify(events())).not.toContain('secret-token');
  });

  it('with every server down keeps the job queued, and delivers once a server comes back', async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const agent = await agentFor(loaded([{ url }]));
    const told: Array<{ serversReachable: boolean; queueFull: boolean }> = [];
    agent.onAgentStatus((s) => told.push(s));
    const { jobId } = await agent.submit(download('a.exe', EICAR), browser);
    const waiting = await until(() => {
      const j = agent.getJob(jobId);
      return j?.error?.code === 'ALL_SERVERS_FAILED' ? j : undefined;
    });
    expect(waiting.state).toBe('queued');
    expect(agent.status().queue.objects).toBe(1);

    await lab({ port, verdicts: { [sha(EICAR)]: maliciousVerdict() } });
    const job = await finished(agent, jobId);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'malicious' } });
    expect(job.error).toBeUndefined();
    expect(events().filter((e) => e.type === 'server-error').length).toBeGreaterThanOrEqual(1);
    // What the extension's badge is driven by: told once that nothing answers, once that it does again; no chatter.
    expect(told).toEqual([
      { serversReachable: true, queueFull: false },
      { serversReachable: false, queueFull: false },
      { serversReachable: true, queueFull: false },
    ]);
  });

  it('asks the server by hash first and skips the upload for an object it knows', async () => {
    const s = await lab({ known: [sha(EICAR)], verdicts: { [sha(EICAR)]: maliciousVerdict() } });
    const agent = await agentFor(loaded([{ url: s.url }]), { quarantineObject: async () => ({ id: 'q1' }) });
    const job = await finished(agent, (await agent.submit(download('a.exe', EICAR), browser)).jobId);
    expect(job.verdict?.level).toBe('malicious');
    expect(s.transcript).toEqual(['lab GET /api/v1/files/{sha}']);
    expect(s.uploads).toEqual([]);
  });

  it('submits the same object once when it is downloaded twice, and both downloads get the verdict', async () => {
    const s = await lab({ verdicts: { [sha(EICAR)]: maliciousVerdict() }, analysisDelayMs: 300 });
    const quarantined: string[] = [];
    const agent = await agentFor(loaded([{ url: s.url }]), {
      quarantineObject: async (o) => {
        quarantined.push(o.path);
        return { id: `q${quarantined.length}` };
      },
    });
    const a = await agent.submit(download('eicar.com', EICAR), browser);
    const b = await agent.submit(download('eicar (1).com', EICAR), browser);
    const [ja, jb] = await Promise.all([finished(agent, a.jobId), finished(agent, b.jobId)]);
    expect([ja.verdict?.level, jb.verdict?.level]).toEqual(['malicious', 'malicious']);
    expect(s.uploads).toHaveLength(1);
    expect(quarantined.sort()).toEqual([join(downloads, 'eicar (1).com'), join(downloads, 'eicar.com')]);
  });

  it('after a restart finishes what was accepted before, without asking the browser again', async () => {
    const port = await freePort();
    const l = loaded([{ url: `https://127.0.0.1:${port}` }]);
    const first = await createAgent({ home, loaded: l, appVersion: '0.1.0-test', clock: quickRounds });
    const { jobId } = await first.submit(download('a.exe', 'MZ restart'), browser);
    await first.close();

    await lab({ port });
    const second = await agentFor(l);
    const job = await finished(second, jobId);
    expect(job).toMatchObject({ state: 'done', verdict: { level: 'clean' } });
    expect(second.listJobs(10).map((j) => j.jobId)).toEqual([jobId]);
  });

  it('never repeats a response action that a crash interrupted', async () => {
    const path = download('eicar.com', EICAR);
    const paths = sandgatePaths(home);
    const q = await RequestQueue.open({ dir: paths.queue, journalFile: join(home, 'jobs', 'finished.jsonl'), maxBytes: 1 << 20, events: new EventLog(paths.events) });
    const accepted = await q.accept(path, browser);
    await q.update(accepted.jobId, { job: { state: 'analysing', verdict: { level: 'malicious', server: 'https://127.0.0.1:1' } }, actionStarted: 'quarantine' });

    let calls = 0;
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]), { quarantineObject: async () => ({ id: `q${++calls}` }) });
    const job = await finished(agent, accepted.jobId);
    expect(calls).toBe(0);
    expect(job.actions).toEqual([expect.objectContaining({ type: 'quarantine', status: 'failed', code: 'QUARANTINE_FAILED' })]);
    expect(s.transcript).toEqual([]); // the verdict on record is not asked for again
  });

  it('reports the scans the policy asks for as skipped: they are not in this version', async () => {
    const s = await lab({ verdicts: { [sha(EICAR)]: maliciousVerdict() } });
    const agent = await agentFor(
      loaded([{ url: s.url }], { response: { quarantine: true, criticalAreasScan: true, iocScan: { create: true } } }),
      { quarantineObject: async () => ({ id: 'q1' }) },
    );
    const job = await finished(agent, (await agent.submit(download('a.exe', EICAR), browser)).jobId);
    expect(job.actions).toEqual([
      { type: 'quarantine', status: 'done', id: 'q1' },
      expect.objectContaining({ type: 'critical-areas-scan', status: 'skipped', message: expect.stringMatching(/not available/) }),
      expect.objectContaining({ type: 'ioc-scan', status: 'skipped', message: expect.stringMatching(/not available/) }),
    ]);
  });

  it('refuses a symbolic link from the browser and records the refusal', async () => {
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]));
    const { symlinkSync } = await import('node:fs');
    writeFileSync(join(root, 'secret'), 'x');
    symlinkSync(join(root, 'secret'), join(downloads, 'link.exe'));
    await expect(agent.submit(join(downloads, 'link.exe'), browser)).rejects.toMatchObject({ code: 'PATH_IS_LINK' });
    expect(events()).toContainEqual(expect.objectContaining({ type: 'object-refused', code: 'PATH_IS_LINK' }));
  });
});
