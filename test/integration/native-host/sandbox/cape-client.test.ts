import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SandgateError, policySchema } from '@sandgate/shared';
import { realClock } from '#native-host/clock.ts';
import { CapeClient } from '#native-host/sandbox/cape-client.ts';
import { createServerAgent } from '#native-host/sandbox/https-call.ts';
import type { QueuedObject } from '#native-host/sandbox/sandbox-client.ts';
import { bytesBody } from '#native-host/queue/object-body.ts';
import { EICAR, sha256, startCapeEmulator, type CapeEmulatorOptions } from '#test-helpers/cape-emulator.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';

const TOKEN = 'cape-secret-token-0123456789';
let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function queued(content: string | Buffer, filename?: string): QueuedObject {
  const bytes = Buffer.from(content);
  const sha = sha256(bytes);
  return { sha256: sha, body: bytesBody(bytes), ...(filename ? { filename } : {}) };
}

async function cape(opts: Partial<CapeEmulatorOptions> = {}) {
  const s = await startCapeEmulator({ tls: leaf, token: TOKEN, ...opts });
  cleanups.push(() => s.close());
  return s;
}

function client(url: string, opts: { token?: string | null; analysisTimeoutMs?: number } = {}) {
  const token = opts.token === null ? undefined : (opts.token ?? TOKEN);
  const server = policySchema.parse({ sandbox: { servers: [{ url, kind: 'cape', ...(token ? { token } : {}) }], serverCertificate: 'x' } })
    .sandbox.servers[0]!;
  // Polling is shortened so a scenario takes milliseconds; the lifecycle still needs several polls.
  const c = new CapeClient(server, {
    agent: createServerAgent({ serverCa: ca.cert }),
    connectTimeoutMs: 1000,
    analysisTimeoutMs: opts.analysisTimeoutMs ?? 20_000,
    clock: realClock,
    pollFirstMs: 5,
    pollMaxMs: 20,
  });
  cleanups.push(() => c.close());
  return c;
}

const signal = () => new AbortController().signal;

async function failure(p: Promise<unknown>): Promise<SandgateError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SandgateError) return err;
    throw err;
  }
  throw new Error('expected a failure, got a verdict');
}

describe('CAPEv2 client against an emulated CAPE over pinned TLS', () => {
  it('uploads an unknown EICAR file once, follows the task to "reported" and calls it malicious with the raw malscore and task id', async () => {
    const s = await cape();
    const v = await client(s.url).analyse(queued(EICAR, 'eicar.com'), signal());
    expect(v).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', server: s.url, score: 10, analysisId: '1' });
    expect(v.indicators).toEqual([{ type: 'malware-family', value: 'EICAR-Test-File', source: 'cape:Yara' }]);
    expect(s.uploads).toHaveLength(1);
    expect(s.uploads[0]).toMatchObject({ filename: 'eicar.com', content: Buffer.from(EICAR) });
    expect(s.uploads[0]!.declaredLength).toBe(s.uploads[0]!.receivedLength);
    expect(s.transcript.slice(0, 2)).toEqual(['cape GET /apiv2/tasks/search/sha256/{sha}/', 'cape POST /apiv2/tasks/create/file/']);
    expect(s.transcript.filter((t) => t.includes('/tasks/status/1/'))).toHaveLength(3);
    expect(s.transcript.at(-1)).toBe('cape GET /apiv2/tasks/view/1/');
  });

  it('calls a harmless file clean, with its score of 0', async () => {
    const s = await cape();
    await expect(client(s.url).analyse(queued('%PDF-1.7 harmless', 'report.pdf'), signal())).resolves.toMatchObject({
      level: 'clean',
      score: 0,
      analysisId: '1',
      server: s.url,
    });
    expect(s.uploads[0]!.filename).toBe('report.pdf');
  });

  it('reuses the finished report of a file CAPE already knows, without uploading it', async () => {
    const s = await cape({ known: [Buffer.from(EICAR)] });
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: '1' });
    expect(s.counters.uploads).toBe(0);
    expect(s.transcript).toEqual(['cape GET /apiv2/tasks/search/sha256/{sha}/', 'cape GET /apiv2/tasks/view/1/']);
  });

  it('uploads a file again when every task CAPE has of it failed, and follows the new task', async () => {
    const s = await cape({ knownFailed: [Buffer.from(EICAR)] });
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: '2' });
    expect(s.counters.uploads).toBe(1);
    expect(s.transcript.slice(0, 2)).toEqual(['cape GET /apiv2/tasks/search/sha256/{sha}/', 'cape POST /apiv2/tasks/create/file/']);
  });

  it('waits for the task already running for the same file instead of uploading it a second time', async () => {
    const s = await cape({ stepMs: 150 });
    const c = client(s.url);
    const first = c.analyse(queued(EICAR), signal());
    await until(() => s.counters.uploads === 1);
    const second = await c.analyse(queued(EICAR), signal());
    expect(second).toMatchObject({ level: 'malicious', analysisId: '1' });
    await expect(first).resolves.toMatchObject({ level: 'malicious', analysisId: '1' });
    expect(s.counters.uploads).toBe(1);
  });

  it('judges an archive CAPE unpacked into several tasks by its gravest file, and finds those tasks again by the archive hash', async () => {
    const archive = Buffer.from('PK\x03\x04 pretend archive');
    const s = await cape({ unpack: (b) => (b.equals(archive) ? [Buffer.from('readme'), Buffer.from(EICAR)] : undefined) });
    const c = client(s.url);
    await expect(c.analyse(queued(archive, 'bundle.zip'), signal())).resolves.toMatchObject({
      level: 'malicious',
      threat: 'EICAR-Test-File',
      analysisId: '1,2',
    });
    await expect(c.analyse(queued(archive, 'bundle.zip'), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: '1,2' });
    expect(s.counters.uploads).toBe(1);
  });

  it('reads malscore and malstatus from the JSON report when the task view carries no score (CAPE without a report store)', async () => {
    // malscore 5 alone would be suspicious: malicious here proves malstatus was read from the report.
    const s = await cape({ viewWithoutScores: true, rule: () => ({ malscore: 5, malstatus: 'Malicious', detections: [] }) });
    await expect(client(s.url).analyse(queued('MZ dropper'), signal())).resolves.toMatchObject({ level: 'malicious', score: 5 });
    expect(s.transcript.slice(-2)).toEqual(['cape GET /apiv2/tasks/view/1/', 'cape GET /apiv2/tasks/get/report/1/']);
  });

  it('turns an HTTP 200 answer saying "error": true into SERVER_ERROR with CAPE\'s reason', async () => {
    const s = await cape({ disabled: ['create'] });
    const err = await failure(client(s.url).analyse(queued('MZ a'), signal()));
    expect(err.code).toBe('SERVER_ERROR');
    expect(err.message).toContain('File Create API is Disabled');
  });

  it('uploads anyway when CAPE has its task search switched off', async () => {
    const s = await cape({ disabled: ['search'] });
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious' });
    expect(s.counters.uploads).toBe(1);
  });

  it('reports throttling (HTTP 429) as SERVER_THROTTLED so the next server is tried, uploading nothing', async () => {
    const s = await cape({ throttleAfter: 0 });
    const err = await failure(client(s.url).analyse(queued(EICAR), signal()));
    expect(err.code).toBe('SERVER_THROTTLED');
    expect(err.message).toContain('Request was throttled');
    expect(s.counters.uploads).toBe(0);
  });

  it('keeps waiting for its task when throttled while polling, rather than give the task up', async () => {
    let statusCalls = 0;
    const s = await cape({
      override: ({ path }) =>
        path.startsWith('/apiv2/tasks/status/') && ++statusCalls === 2
          ? { status: 429, body: '{"detail":"Request was throttled."}' }
          : undefined,
    });
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious' });
    expect(s.counters.uploads).toBe(1);
  });

  it('reports a refused token as SERVER_AUTH_FAILED and never repeats the token', async () => {
    const s = await cape();
    const wrong = 'wrong-token-abcdef';
    const err = await failure(client(s.url, { token: wrong }).analyse(queued(EICAR), signal()));
    expect(err.code).toBe('SERVER_AUTH_FAILED');
    expect(JSON.stringify({ m: err.message, p: err.params })).not.toContain(wrong);
    const none = await failure(client(s.url, { token: null }).analyse(queued(EICAR), signal()));
    expect(none.code).toBe('SERVER_AUTH_FAILED');
    expect(none.message).toContain('without an API token');
    expect(s.counters.uploads).toBe(0);
  });

  it.each(['failed_analysis', 'failed_processing', 'failed_reporting'] as const)(
    'ends the job with ANALYSIS_FAILED when the task ends in %s',
    async (failWith) => {
      const s = await cape({ failWith });
      const err = await failure(client(s.url).analyse(queued(EICAR), signal()));
      expect(err.code).toBe('ANALYSIS_FAILED');
      expect(err.message).toContain(failWith);
      expect(err.params).toMatchObject({ analysisId: '1', status: failWith });
    },
  );

  it('reports an answer that is not JSON, or JSON that is not the CAPE API, as SERVER_RESPONSE_INVALID', async () => {
    const garbage = await cape({
      override: ({ path }) => (path.includes('/tasks/status/') ? { status: 200, body: '<html>gateway</html>' } : undefined),
    });
    expect((await failure(client(garbage.url).analyse(queued(EICAR), signal()))).code).toBe('SERVER_RESPONSE_INVALID');
    const shapeless = await cape({
      override: ({ path }) =>
        path.includes('/tasks/create/') ? { status: 200, body: '{"error": [], "data": {"task_ids": []}}' } : undefined,
    });
    expect((await failure(client(shapeless.url).analyse(queued(EICAR), signal()))).code).toBe('SERVER_RESPONSE_INVALID');
  });

  it('gives up with SERVER_TIMEOUT when the report does not come within analysisTimeoutMs', async () => {
    const s = await cape({ stepMs: 60_000 });
    const err = await failure(client(s.url, { analysisTimeoutMs: 300 }).analyse(queued(EICAR), signal()));
    expect(err.code).toBe('SERVER_TIMEOUT');
    expect(err.params).toMatchObject({ analysisId: '1' });
  });

  it('probes with the status endpoint: healthy, refused token, status API off, no machines', async () => {
    const healthy = await cape();
    await expect(client(healthy.url).probe(signal())).resolves.toBeUndefined();
    expect(healthy.transcript).toEqual(['cape GET /apiv2/cuckoo/status/']);
    expect((await failure(client(healthy.url, { token: 'nope-nope' }).probe(signal()))).code).toBe('SERVER_AUTH_FAILED');
    const off = await cape({ disabled: ['cuckoostatus'] });
    expect((await failure(client(off.url).probe(signal()))).code).toBe('SERVER_ERROR');
    const empty = await cape({ machines: 0 });
    expect((await failure(client(empty.url).probe(signal()))).message).toContain('no analysis machines');
  });
});

async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((r) => setTimeout(r, 10));
}
