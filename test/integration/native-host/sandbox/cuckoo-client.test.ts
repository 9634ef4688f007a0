import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SandgateError, policySchema } from '@sandgate/shared';
import { realClock } from '#native-host/clock.ts';
import { CUCKOO_TASK_PAGE, CuckooClient } from '#native-host/sandbox/cuckoo-client.ts';
import { createServerAgent } from '#native-host/sandbox/https-call.ts';
import type { QueuedObject } from '#native-host/sandbox/sandbox-client.ts';
import { bytesBody } from '#native-host/queue/object-body.ts';
import { EICAR, sha256 } from '#test-helpers/cape-emulator.ts';
import { startCuckooEmulator, type CuckooEmulatorOptions } from '#test-helpers/cuckoo-emulator.ts';
import { makeCa, makeLeaf, type Pem } from '#test-helpers/pki.ts';

const TOKEN = 'cuckoo-secret-token-9876543210';
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

async function cuckoo(opts: Partial<CuckooEmulatorOptions> = {}) {
  const s = await startCuckooEmulator({ tls: leaf, token: TOKEN, ...opts });
  cleanups.push(() => s.close());
  return s;
}

function client(url: string, opts: { token?: string | null; analysisTimeoutMs?: number } = {}) {
  const token = opts.token === null ? undefined : (opts.token ?? TOKEN);
  const server = policySchema.parse({
    sandbox: { servers: [{ url, kind: 'cuckoo', ...(token ? { token } : {}) }], serverCertificate: 'x' },
  }).sandbox.servers[0]!;
  const c = new CuckooClient(server, {
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

describe('Cuckoo 2 client against an emulated Cuckoo over pinned TLS', () => {
  it('uploads an unknown EICAR file once, follows the task to "reported" and calls it malicious with the raw score and task id', async () => {
    const s = await cuckoo();
    const v = await client(s.url).analyse(queued(EICAR, 'eicar.com'), signal());
    expect(v).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', server: s.url, score: 10, analysisId: '1' });
    expect(s.uploads).toHaveLength(1);
    expect(s.uploads[0]).toMatchObject({ filename: 'eicar.com', content: Buffer.from(EICAR) });
    expect(s.uploads[0]!.declaredLength).toBe(s.uploads[0]!.receivedLength);
    expect(s.transcript).toEqual([
      'cuckoo GET /files/view/sha256/{sha}',
      'cuckoo POST /tasks/create/file',
      'cuckoo GET /tasks/view/1',
      'cuckoo GET /tasks/view/1',
      'cuckoo GET /tasks/view/1',
      'cuckoo GET /tasks/report/1',
    ]);
  });

  it('calls a harmless file clean, with its score of 0', async () => {
    const s = await cuckoo();
    await expect(client(s.url).analyse(queued('%PDF-1.7 harmless', 'report.pdf'), signal())).resolves.toMatchObject({
      level: 'clean',
      score: 0,
      analysisId: '1',
    });
  });

  it('finds the reported task of a file Cuckoo already knows through the task list, without uploading it', async () => {
    // Enough history that the known task is on the second page of the task list.
    const s = await cuckoo({ otherTasks: CUCKOO_TASK_PAGE + 3, known: [Buffer.from(EICAR)] });
    const known = CUCKOO_TASK_PAGE + 4;
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: String(known) });
    expect(s.counters.uploads).toBe(0);
    expect(s.transcript).toEqual([
      'cuckoo GET /files/view/sha256/{sha}',
      `cuckoo GET /tasks/list/${CUCKOO_TASK_PAGE}/0`,
      `cuckoo GET /tasks/list/${CUCKOO_TASK_PAGE}/${CUCKOO_TASK_PAGE}`,
      `cuckoo GET /tasks/report/${known}`,
    ]);
  });

  it('uploads a file Cuckoo knows but whose tasks are gone', async () => {
    const s = await cuckoo({ knownWithoutTasks: [Buffer.from(EICAR)] });
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: '1' });
    expect(s.counters.uploads).toBe(1);
  });

  it('uploads a file again when every task Cuckoo has of it failed, and follows the new task', async () => {
    const s = await cuckoo({ knownFailed: [Buffer.from(EICAR)] });
    await expect(client(s.url).analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: '2' });
    expect(s.counters.uploads).toBe(1);
    expect(s.transcript).toEqual(expect.arrayContaining(['cuckoo GET /tasks/list/100/0', 'cuckoo POST /tasks/create/file']));
  });

  it('waits for the task already running for the same file instead of uploading it a second time', async () => {
    const s = await cuckoo({ stepMs: 150 });
    const c = client(s.url);
    const first = c.analyse(queued(EICAR), signal());
    await until(() => s.counters.uploads === 1);
    await expect(c.analyse(queued(EICAR), signal())).resolves.toMatchObject({ level: 'malicious', analysisId: '1' });
    await expect(first).resolves.toMatchObject({ level: 'malicious', analysisId: '1' });
    expect(s.counters.uploads).toBe(1);
  });

  it('reads a report of tens of MiB (behaviour logs included) to its verdict', async () => {
    const s = await cuckoo({ token: TOKEN, reportBehaviorBytes: 20 * 1024 * 1024 });
    const v = await client(s.url).analyse(queued(EICAR), signal());
    expect(v.level).toBe('malicious');
  });

  it("reports an HTTP error with Cuckoo's message as SERVER_ERROR", async () => {
    const s = await cuckoo({
      override: ({ path }) => (path === '/tasks/create/file' ? { status: 500, body: '{"message": "Error creating task"}' } : undefined),
    });
    const err = await failure(client(s.url).analyse(queued(EICAR), signal()));
    expect(err.code).toBe('SERVER_ERROR');
    expect(err.message).toContain('Error creating task');
  });

  it('treats an upload that created no task (task_id null) as SERVER_ERROR', async () => {
    const s = await cuckoo({
      override: ({ path }) => (path === '/tasks/create/file' ? { status: 200, body: '{"task_id": null}' } : undefined),
    });
    expect((await failure(client(s.url).analyse(queued(EICAR), signal()))).code).toBe('SERVER_ERROR');
  });

  it('reports throttling (HTTP 429) as SERVER_THROTTLED, uploading nothing', async () => {
    const s = await cuckoo({ throttleAfter: 0 });
    expect((await failure(client(s.url).analyse(queued(EICAR), signal()))).code).toBe('SERVER_THROTTLED');
    expect(s.counters.uploads).toBe(0);
  });

  it('reports a refused or missing bearer token as SERVER_AUTH_FAILED and never repeats the token', async () => {
    const s = await cuckoo();
    const wrong = 'wrong-bearer-123456';
    const err = await failure(client(s.url, { token: wrong }).analyse(queued(EICAR), signal()));
    expect(err.code).toBe('SERVER_AUTH_FAILED');
    expect(err.message).toContain('Authorization: Bearer');
    expect(JSON.stringify({ m: err.message, p: err.params })).not.toContain(wrong);
    expect((await failure(client(s.url, { token: null }).analyse(queued(EICAR), signal()))).code).toBe('SERVER_AUTH_FAILED');
    expect(s.counters.uploads).toBe(0);
  });

  it.each(['failed_analysis', 'failed_processing', 'failed_reporting'] as const)(
    'ends the job with ANALYSIS_FAILED when the task ends in %s',
    async (failWith) => {
      const s = await cuckoo({ failWith });
      const err = await failure(client(s.url).analyse(queued(EICAR), signal()));
      expect(err.code).toBe('ANALYSIS_FAILED');
      expect(err.message).toContain(failWith);
      expect(err.message).toContain('critical error');
    },
  );

  it('reports an answer that is not JSON, or a report about another file, as SERVER_RESPONSE_INVALID', async () => {
    const garbage = await cuckoo({
      override: ({ path }) => (path.startsWith('/tasks/view/') ? { status: 200, body: 'not json {' } : undefined),
    });
    expect((await failure(client(garbage.url).analyse(queued(EICAR), signal()))).code).toBe('SERVER_RESPONSE_INVALID');
    const other = await cuckoo({
      override: ({ path }) =>
        path.startsWith('/tasks/report/')
          ? { status: 200, body: JSON.stringify({ info: { id: 1, score: 0 }, target: { file: { sha256: 'f'.repeat(64) } } }) }
          : undefined,
    });
    expect((await failure(client(other.url).analyse(queued(EICAR), signal()))).code).toBe('SERVER_RESPONSE_INVALID');
  });

  it('gives up with SERVER_TIMEOUT when the report does not come within analysisTimeoutMs', async () => {
    const s = await cuckoo({ stepMs: 60_000 });
    expect((await failure(client(s.url, { analysisTimeoutMs: 300 }).analyse(queued(EICAR), signal()))).code).toBe('SERVER_TIMEOUT');
  });

  it('probes with /cuckoo/status: healthy, refused token, no machines, not Cuckoo at all', async () => {
    const healthy = await cuckoo();
    await expect(client(healthy.url).probe(signal())).resolves.toBeUndefined();
    expect(healthy.transcript).toEqual(['cuckoo GET /cuckoo/status']);
    expect((await failure(client(healthy.url, { token: 'nope-nope' }).probe(signal()))).code).toBe('SERVER_AUTH_FAILED');
    expect((await failure(client((await cuckoo({ machines: 0 })).url).probe(signal()))).code).toBe('SERVER_ERROR');
    const html = await cuckoo({ override: () => ({ status: 200, body: '<html></html>' }) });
    expect((await failure(client(html.url).probe(signal()))).code).toBe('SERVER_RESPONSE_INVALID');
  });
});

async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((r) => setTimeout(r, 10));
}
