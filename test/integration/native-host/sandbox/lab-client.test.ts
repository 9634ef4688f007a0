import { createHash } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { policySchema, type SandboxServer, type SandgateError } from '@sandgate/shared';
import { realClock } from '#native-host/clock.ts';
import type { ClientCertificate } from '#native-host/config/load-policy.ts';
import { createServerAgent } from '#native-host/sandbox/https-call.ts';
import { LabClient } from '#native-host/sandbox/lab-client.ts';
import { bytesBody } from '#native-host/queue/object-body.ts';
import { failoverDecision } from '#native-host/sandbox/retry-policy.ts';
import { makeCa, makeLeaf, toPfx, type Pem } from '#test-helpers/pki.ts';
import { freePort, maliciousVerdict, startBlackHole, startLabServer, startPlaintextServer } from '#test-helpers/lab-protocol-server.ts';

let ca: ReturnType<typeof makeCa>;
let leaf: Pem;
const content = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*');
const sha = createHash('sha256').update(content).digest('hex');
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  ca = makeCa();
  leaf = makeLeaf(ca);
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function client(url: string, opts: { clientCert?: ClientCertificate; idleTimeoutMs?: number; serverCa?: string; token?: string } = {}) {
  const entry = { url, ...(opts.token ? { token: opts.token } : {}) };
  const server: SandboxServer = policySchema.parse({ sandbox: { servers: [entry], serverCertificate: 'x' } }).sandbox.servers[0]!;
  const c = new LabClient(server, {
    agent: createServerAgent({ serverCa: opts.serverCa ?? ca.cert, ...(opts.clientCert ? { clientCert: opts.clientCert } : {}) }),
    connectTimeoutMs: 1000,
    analysisTimeoutMs: 10_000,
    ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    clock: realClock,
  });
  cleanups.push(() => c.close());
  return c;
}

const obj = () => ({ sha256: sha, body: bytesBody(content), filename: 'eicar.com' });
const signal = () => new AbortController().signal;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function server(opts: Partial<Parameters<typeof startLabServer>[0]> = {}) {
  const s = await startLabServer({ tls: leaf, name: 'A', ...opts });
  cleanups.push(() => s.close());
  return s;
}

describe('sandgate-protocol client over pinned TLS', () => {
  it('uploads an unknown object, polls, and returns the verdict with the server named by its policy URL', async () => {
    const s = await server({ verdicts: { [sha]: maliciousVerdict() }, analysisDelayMs: 300 });
    const v = await client(s.url).analyse(obj(), signal());
    expect(v).toMatchObject({ level: 'malicious', threat: 'EICAR-Test-File', server: s.url, score: 100 });
    expect(s.uploads).toEqual([content]);
    expect(s.transcript.slice(0, 2)).toEqual(['A GET /api/v1/files/{sha}', 'A POST /api/v1/submissions']);
    expect(s.transcript.at(-1)).toMatch(/^A GET \/api\/v1\/submissions\//);
  });

  it('skips the upload when the server already knows the hash', async () => {
    const s = await server({ verdicts: { [sha]: maliciousVerdict() }, known: [sha] });
    await expect(client(s.url).analyse(obj(), signal())).resolves.toMatchObject({ level: 'malicious' });
    expect(s.transcript).toEqual(['A GET /api/v1/files/{sha}']);
    expect(s.uploads).toEqual([]);
  });

  it('uploads again when the look-up finds an analysis that failed, and follows the new one', async () => {
    const s = await server({ verdicts: { [sha]: maliciousVerdict() }, knownFailed: [sha] });
    await expect(client(s.url).analyse(obj(), signal())).resolves.toMatchObject({ level: 'malicious' });
    expect(s.uploads).toEqual([content]);
    expect(s.transcript.slice(0, 2)).toEqual(['A GET /api/v1/files/{sha}', 'A POST /api/v1/submissions']);
  });

  it("reports an analysis of its upload that failed as ANALYSIS_FAILED, naming the lab's reason", async () => {
    const s = await server({ failAnalyses: 1 });
    const err = await client(s.url)
      .analyse(obj(), signal())
      .catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({
      code: 'ANALYSIS_FAILED',
      message: expect.stringContaining('ANALYSIS_FAILED: the lab could not analyse the object'),
    });
  });

  it('refuses a server whose certificate comes from another CA', async () => {
    const other = makeLeaf(makeCa('Impostor CA'));
    const s = await server({ tls: other });
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).toBe('TLS_CERTIFICATE_REJECTED');
    expect(s.transcript).toEqual([]);
  });

  it('refuses a certificate issued for another name than the server URL (IP addresses are verified too)', async () => {
    const s = await server({ tls: makeLeaf(ca, { hosts: ['localhost'] }) });
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).toBe('TLS_HOSTNAME_MISMATCH');
  });

  it('refuses an expired certificate', async () => {
    const s = await server({
      tls: makeLeaf(ca, { notBefore: new Date(Date.now() - 3 * 86400_000), notAfter: new Date(Date.now() - 86400_000) }),
    });
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).toBe('TLS_CERTIFICATE_EXPIRED');
  });

  it('reports a plaintext server as a failed TLS handshake', async () => {
    const s = await startPlaintextServer();
    cleanups.push(() => s.close());
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).toBe('TLS_HANDSHAKE_FAILED');
  });

  it('reports a server stuck before TLS as SERVER_CONNECT_TIMEOUT', async () => {
    const s = await startBlackHole();
    cleanups.push(() => s.close());
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).toBe('SERVER_CONNECT_TIMEOUT');
  });

  it('reports a refused connection as SERVER_UNREACHABLE', async () => {
    const port = await freePort();
    expect(await codeOf(client(`https://127.0.0.1:${port}`).analyse(obj(), signal()))).toBe('SERVER_UNREACHABLE');
  });

  it("sends the policy's token as a bearer token on every request, and reports a wrong or missing one as SERVER_AUTH_FAILED without repeating it", async () => {
    const token = 'lab-token-0123456789abcdefghijklmnopqrstuvwxyz';
    const authorizations: (string | undefined)[] = [];
    const s = await server({ token, authorizations, verdicts: { [sha]: maliciousVerdict() } });
    await expect(client(s.url, { token }).analyse(obj(), signal())).resolves.toMatchObject({ level: 'malicious' });
    // Look-up, upload and poll, each with the token.
    expect(authorizations.length).toBeGreaterThanOrEqual(3);
    expect(new Set(authorizations)).toEqual(new Set([`Bearer ${token}`]));

    const wrong = 'not-the-token-0123456789abcdefghijklmnopq';
    const refused = await client(s.url, { token: wrong })
      .analyse(obj(), signal())
      .catch((e: SandgateError) => e);
    expect(refused).toMatchObject({ code: 'SERVER_AUTH_FAILED', retryable: true });
    expect(JSON.stringify({ message: (refused as Error).message, params: (refused as SandgateError).params })).not.toContain(wrong);
    const none = await client(s.url)
      .analyse(obj(), signal())
      .catch((e: SandgateError) => e);
    expect(none).toMatchObject({ code: 'SERVER_AUTH_FAILED' });
    expect((none as Error).message).toContain('set `token` in the policy');
  });

  it("reports the lab's limits (connections, uploads, rate, disk) as SERVER_BUSY, retryable, so the next server is tried", async () => {
    const cases: [number, string][] = [
      [503, 'TOO_MANY_CONNECTIONS'],
      [503, 'TOO_MANY_UPLOADS'],
      [408, 'UPLOAD_TOO_SLOW'],
      [507, 'INSUFFICIENT_STORAGE'],
      [503, 'UNAVAILABLE'],
    ];
    for (const [status, code] of cases) {
      const s = await server({ failWith: status, failCode: code });
      const err = await client(s.url)
        .analyse(obj(), signal())
        .catch((e: SandgateError) => e);
      expect(err, code).toMatchObject({ code: 'SERVER_BUSY', retryable: true, params: { status, serverCode: code } });
      expect(failoverDecision((err as SandgateError).code)).toBe('next-server');
    }
  });

  it('reports a 5xx answer as SERVER_ERROR', async () => {
    const s = await server({ failWith: 503 });
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).toBe('SERVER_ERROR');
  });

  it('reports an answer that is not the protocol as SERVER_RESPONSE_INVALID, and a stalled one as SERVER_TIMEOUT', async () => {
    let mode: 'garbage' | 'stall' = 'garbage';
    const s = https.createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => {
      if (mode === 'garbage') res.end('<html>not json</html>');
      // stall: never answer
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))));
    const url = `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
    expect(await codeOf(client(url).analyse(obj(), signal()))).toBe('SERVER_RESPONSE_INVALID');
    mode = 'stall';
    expect(await codeOf(client(url, { idleTimeoutMs: 300 }).analyse(obj(), signal()))).toBe('SERVER_TIMEOUT');
  });

  it('reports a server that only speaks TLS 1.1 or older as a failed handshake', async () => {
    const s = https.createServer(
      { cert: leaf.cert, key: leaf.key, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' },
      (_q, r) => r.end('{}'),
    );
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
    const url = `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
    expect(await codeOf(client(url).analyse(obj(), signal()))).toBe('TLS_HANDSHAKE_FAILED');
  });

  it('presents the client certificate when the server requires one', async () => {
    const clientLeaf = makeLeaf(ca, { client: true });
    const s = await server({ clientCa: ca.cert, known: [sha] });
    expect(await codeOf(client(s.url).analyse(obj(), signal()))).not.toBe('OK');
    await expect(
      client(s.url, { clientCert: { cert: clientLeaf.cert, key: clientLeaf.key } }).analyse(obj(), signal()),
    ).resolves.toMatchObject({ level: 'clean' });
    const pfx = { pfx: toPfx(clientLeaf, 'pw'), passphrase: 'pw' };
    await expect(client(s.url, { clientCert: pfx }).analyse(obj(), signal())).resolves.toMatchObject({ level: 'clean' });
  });

  it('verifies a DNS name against the certificate and sends it as SNI', async () => {
    const s = await server({ tls: makeLeaf(ca, { hosts: ['localhost'] }), known: [sha] });
    const url = s.url.replace('127.0.0.1', 'localhost');
    await expect(client(url).analyse(obj(), signal())).resolves.toMatchObject({ level: 'clean', server: url });
  });
});
