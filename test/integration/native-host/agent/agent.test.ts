import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { policySchema, type AgentEvent, type Job, type PolicyInput } from '@sandgate/shared';
import { createAgent, type Agent, type CreateAgentOptions } from '#native-host/agent/agent.ts';
import { realClock, type Clock } from '#native-host/clock.ts';
import type { LoadedPolicy } from '#native-host/config/load-policy.ts';
import { sandgatePaths } from '#native-host/config/paths.ts';
import { EventLog } from '#native-host/events/event-log.ts';
import { RequestQueue } from '#native-host/queue/request-queue.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';
import { freePort, maliciousVerdict, startBlackHole, startLabServer, type LabServer } from '#test-helpers/lab-protocol-server.ts';
import { QuarantineStore } from '#native-host/quarantine/quarantine-store.ts';

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

function loaded(
  servers: PolicyInput['sandbox']['servers'],
  extra: Partial<PolicyInput> = {},
  sandbox: Partial<PolicyInput['sandbox']> = {},
): LoadedPolicy {
  const policy = policySchema.parse({
    sandbox: { servers, serverCertificate: ca.cert, connectTimeoutMs: 1000, analysisTimeoutMs: 20_000, ...sandbox },
    ...extra,
  });
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

const readdirSafe = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
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
    expect(QuarantineStore.open(home).list()).toEqual([
      expect.objectContaining({ id: job.actions![0]!.id, originalPath: path, sha256: sha(EICAR) }),
    ]);
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

  it('tries the next server when the first cannot even be resolved, without its API token showing anywhere', async () => {
    const good = await lab();
    // .invalid never resolves (RFC 6761), so this is a DNS failure whatever network the test runs on.
    const agent = await agentFor(
      loaded([{ url: 'https://cape.sandgate.invalid', kind: 'cape', token: 'secret-token' }, { url: good.url }]),
    );
    const job = await finished(agent, (await agent.submit(download('a.exe', 'MZ c'), browser)).jobId);
    expect(job.verdict?.server).toBe(good.url);
    const errs = events().filter((e) => e.type === 'server-error');
    expect(errs).toEqual([expect.objectContaining({ code: 'SERVER_UNREACHABLE', server: 'https://cape.sandgate.invalid' })]);
    expect(JSON.stringify(events())).not.toContain('secret-token');
    expect(JSON.stringify(agent.status())).not.toContain('secret-token');
  });

  it('keeps the quarantine within quarantine.maxBytes: the oldest threat makes room for the newest', async () => {
    const first = 'MZ first ' + 'a'.repeat(700 * 1024);
    const second = 'MZ second ' + 'b'.repeat(700 * 1024);
    const s = await lab({ verdicts: { [sha(first)]: maliciousVerdict(), [sha(second)]: maliciousVerdict() } });
    const agent = await agentFor(loaded([{ url: s.url }], { quarantine: { maxBytes: 1024 * 1024 } }));
    const a = await finished(agent, (await agent.submit(download('first.exe', first), browser)).jobId);
    const b = await finished(agent, (await agent.submit(download('second.exe', second), browser)).jobId);
    expect([a, b].map((j) => j.actions?.[0]?.status)).toEqual(['done', 'done']);
    // Both objects are out of the Downloads folder; only the newest is still in quarantine.
    expect(readdirSafe(downloads)).toEqual([]);
    expect(
      QuarantineStore.open(home)
        .list()
        .map((i) => i.sha256),
    ).toEqual([sha(second)]);
    expect(events().map((e) => e.type)).toEqual(expect.arrayContaining(['quarantine-deleted', 'quarantine-limit-reached']));
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

  /** A job whose verdict is recorded and whose quarantine was marked begun when the agent died. */
  async function interruptedQuarantine(path: string): Promise<string> {
    const paths = sandgatePaths(home);
    const q = await RequestQueue.open({
      dir: paths.queue,
      journalFile: join(home, 'jobs', 'finished.jsonl'),
      maxBytes: 1 << 20,
      events: new EventLog(paths.events),
    });
    const accepted = await q.enqueue(path, browser);
    await q.update(accepted.jobId, {
      job: { state: 'analysing', verdict: { level: 'malicious', server: 'https://127.0.0.1:1' } },
      actionStarted: 'quarantine',
    });
    return accepted.jobId;
  }

  it('runs a quarantine a crash interrupted before it stored anything once more, and only once', async () => {
    const jobId = await interruptedQuarantine(download('eicar.com', EICAR));
    let calls = 0;
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]), { quarantineObject: async () => ({ id: `q${++calls}` }) });
    const job = await finished(agent, jobId);
    expect(calls).toBe(1);
    expect(job.actions).toEqual([{ type: 'quarantine', status: 'done', id: 'q1' }]);
    expect(s.transcript).toEqual([]); // the verdict on record is not asked for again
  });

  it("never repeats a quarantine that got done before the crash: the store already holds this job's copy", async () => {
    const path = download('eicar.com', EICAR);
    const jobId = await interruptedQuarantine(path);
    const { id } = await QuarantineStore.open(home).quarantine({
      path,
      expectedSha256: sha(EICAR),
      verdict: { level: 'malicious', server: 'https://127.0.0.1:1' },
      provenance: browser,
      jobId,
    });
    let calls = 0;
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]), { quarantineObject: async () => ({ id: `q${++calls}` }) });
    const job = await finished(agent, jobId);
    expect(calls).toBe(0);
    expect(job.actions).toEqual([{ type: 'quarantine', status: 'done', id }]);
    expect(QuarantineStore.open(home).list()).toHaveLength(1);
  });

  it('finishes a quarantine cut off between storing its copy and deleting the original: one item, the original gone', async () => {
    const path = download('eicar.com', EICAR);
    const jobId = await interruptedQuarantine(path);
    const died = new Error('killed before the delete');
    const opts = {
      path,
      expectedSha256: sha(EICAR),
      verdict: { level: 'malicious' as const, server: 'https://127.0.0.1:1' },
      provenance: browser,
      jobId,
    };
    await expect(QuarantineStore.open(home).quarantine(opts, { beforeDelete: () => Promise.reject(died) })).rejects.toBe(died);
    const [stale] = QuarantineStore.open(home).list();

    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]));
    const job = await finished(agent, jobId);
    expect(job.actions).toEqual([{ type: 'quarantine', status: 'done', id: expect.any(String) }]);
    expect(existsSync(path)).toBe(false);
    expect(QuarantineStore.open(home).list()).toEqual([expect.objectContaining({ id: job.actions![0]!.id, sha256: sha(EICAR) })]);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'quarantine-deleted', quarantineId: stale!.id }));
  });

  it('schedules the scans the policy asks for as tasks, without holding up the job', async () => {
    const s = await lab({ verdicts: { [sha(EICAR)]: maliciousVerdict() } });
    const agent = await agentFor(
      loaded([{ url: s.url }], { response: { quarantine: true, criticalAreasScan: true, iocScan: { create: true } } }),
      { quarantineObject: async () => ({ id: 'q1' }) },
    );
    const job = await finished(agent, (await agent.submit(download('a.exe', EICAR), browser)).jobId);
    // What the scans find is covered in test/integration/native-host/tasks/threat-response-tasks.test.ts.
    expect(job.actions).toEqual([
      { type: 'quarantine', status: 'done', id: 'q1' },
      { type: 'critical-areas-scan', status: 'scheduled', id: expect.stringMatching(/^[0-9a-f]{16}$/) },
      { type: 'ioc-scan', status: 'scheduled', id: expect.stringMatching(/^[0-9a-f]{16}$/) },
    ]);
  });

  it('answers a repeated download from the verdict cache without contacting any server, even after a restart, and still quarantines it', async () => {
    const s = await lab({ verdicts: { [sha(EICAR)]: maliciousVerdict() } });
    const first = await createAgent({ home, loaded: loaded([{ url: s.url }]), appVersion: '0.1.0-test', clock: quickRounds });
    const original = await finished(first, (await first.submit(download('eicar.com', EICAR), browser)).jobId);
    expect(original.verdict).toMatchObject({ level: 'malicious', judgedAt: expect.any(String) });
    expect(original.verdict?.cached).toBeUndefined();
    await first.close();
    const asked = [...s.transcript];

    // The same bytes again, with every server unreachable: the answer comes from the cache, the response still runs.
    const again = await agentFor(loaded([{ url: `https://127.0.0.1:${await freePort()}` }]));
    const path = download('eicar (1).com', EICAR);
    const job = await finished(again, (await again.submit(path, browser)).jobId);
    expect(job.state).toBe('done');
    expect(job.verdict).toEqual({ ...original.verdict, cached: true });
    expect(job.actions).toEqual([{ type: 'quarantine', status: 'done', id: expect.any(String) }]);
    expect(existsSync(path)).toBe(false);
    expect(QuarantineStore.open(home).list()).toHaveLength(2);
    expect(s.transcript).toEqual(asked);
    const tail = events()
      .filter((e) => e.jobId === job.jobId)
      .map((e) => e.type);
    expect(tail).toEqual(['object-accepted', 'verdict-cached', 'verdict', 'quarantined']);
    expect(events().find((e) => e.type === 'verdict-cached')).toMatchObject({
      jobId: job.jobId,
      sha256: sha(EICAR),
      level: 'malicious',
      server: s.url,
    });
  });

  it('asks a server again once the cached verdict is older than sandbox.verdictCacheTtlMs', async () => {
    let offsetMs = 0;
    const clock: Clock = { ...quickRounds, now: () => new Date(Date.now() + offsetMs) };
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }], {}, { verdictCacheTtlMs: 60_000 }), { clock });
    await finished(agent, (await agent.submit(download('a.pdf', '%PDF-1.7 ttl'), browser)).jobId);
    expect((await finished(agent, (await agent.submit(download('b.pdf', '%PDF-1.7 ttl'), browser)).jobId)).verdict?.cached).toBe(true);
    const lookups = () => s.transcript.filter((l) => l.includes('GET /api/v1/files/')).length;
    expect(lookups()).toBe(1);
    offsetMs = 61_000;
    const late = await finished(agent, (await agent.submit(download('c.pdf', '%PDF-1.7 ttl'), browser)).jobId);
    expect(late.verdict?.cached).toBeUndefined();
    expect(lookups()).toBe(2);
  });

  it('with verdictCacheTtlMs 0 asks a server every time, and never caches an unknown verdict', async () => {
    const s = await lab({ verdicts: { [sha('MZ unknown')]: { level: 'unknown', score: 0, engines: [], indicators: [] } } });
    const off = await agentFor(loaded([{ url: s.url }], {}, { verdictCacheTtlMs: 0 }));
    for (const name of ['a.exe', 'b.exe']) await finished(off, (await off.submit(download(name, 'MZ off'), browser)).jobId);
    expect(s.transcript.filter((l) => l.includes('GET /api/v1/files/'))).toHaveLength(2);
    expect(existsSync(join(home, 'cache', 'verdicts.jsonl'))).toBe(false);
    await off.close();

    s.transcript.length = 0;
    const on = await agentFor(loaded([{ url: s.url }]));
    for (const name of ['c.exe', 'd.exe']) {
      const job = await finished(on, (await on.submit(download(name, 'MZ unknown'), browser)).jobId);
      expect(job.verdict).toMatchObject({ level: 'unknown' });
      expect(job.verdict?.cached).toBeUndefined();
    }
    expect(s.transcript.filter((l) => l.includes('GET /api/v1/files/'))).toHaveLength(2);
  });

  it('refuses an object over sandbox.maxObjectBytes before copying it, with OBJECT_OVER_MAX_SIZE recorded once', async () => {
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }], {}, { maxObjectBytes: 16 }));
    await expect(agent.submit(download('big.exe', 'MZ seventeen byte'), browser)).rejects.toMatchObject({
      code: 'OBJECT_OVER_MAX_SIZE',
      params: { size: 17, limitBytes: 16 },
    });
    expect(events().filter((e) => e.type === 'object-refused')).toEqual([
      expect.objectContaining({ code: 'OBJECT_OVER_MAX_SIZE', path: join(downloads, 'big.exe') }),
    ]);
    expect(agent.status().queue).toMatchObject({ objects: 0, bytes: 0 });
    const small = await finished(agent, (await agent.submit(download('small.exe', 'MZ sixteen bytes'), browser)).jobId);
    expect(small.state).toBe('done');
  });

  it('after a restart with a corrupt record beside good ones, sets it aside with an event and still judges the good ones', async () => {
    const paths = sandgatePaths(home);
    const q = await RequestQueue.open({
      dir: paths.queue,
      journalFile: join(home, 'jobs', 'finished.jsonl'),
      maxBytes: 1 << 20,
      events: new EventLog(paths.events),
    });
    const good = [await q.enqueue(download('a.exe', 'MZ good a'), browser), await q.enqueue(download('b.pdf', '%PDF-1.7 good b'), browser)];
    const bad = await q.enqueue(download('c.exe', 'MZ torn'), browser);
    writeFileSync(join(paths.queue, `${bad.jobId}.job.json`), '{"format":1,"job":{"jobId":"' + bad.jobId);

    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]));
    for (const g of good) expect(await finished(agent, g.jobId)).toMatchObject({ state: 'done', verdict: { level: 'clean' } });
    expect(events()).toContainEqual(expect.objectContaining({ type: 'queue-entry-corrupt', code: 'QUEUE_ENTRY_CORRUPT' }));
    expect(existsSync(join(paths.queue, 'corrupt', `${bad.jobId}.job.json`))).toBe(true);
    // A job reads as done once journalled; its object file goes a moment later in the same commit.
    await until(() => (agent.status().queue.objects === 0 ? true : undefined));
    expect(agent.status().queue).toMatchObject({ objects: 0, bytes: 0 });
  });

  it('a disk that fills up mid-copy refuses the object with QUEUE_IO and leaves no half entry; the next one is queued', async () => {
    let fail = true;
    const s = await lab();
    const agent = await agentFor(loaded([{ url: s.url }]), {
      writeChunk: async (dest, chunk) => {
        if (fail) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        await dest.write(chunk);
      },
    });
    await expect(agent.submit(download('a.exe', 'MZ no room'), browser)).rejects.toMatchObject({ code: 'QUEUE_IO' });
    expect(events()).toContainEqual(expect.objectContaining({ type: 'object-refused', code: 'QUEUE_IO' }));
    expect(readdirSafe(sandgatePaths(home).queue)).toEqual([]);
    fail = false;
    expect(await finished(agent, (await agent.submit(download('b.exe', 'MZ room'), browser)).jobId)).toMatchObject({ state: 'done' });
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
