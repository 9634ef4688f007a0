import { request } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls';
import { labAnalysisSchema, type ErrorCode } from '@sandgate/shared';
import type { LoadedSandbox } from '../config/load-console-config.ts';

/** What one server said about a SHA-256. Only `malicious` witnesses; the rest is shown on the task page. */
export interface LookupResult {
  server: string;
  outcome: 'malicious' | 'suspicious' | 'clean' | 'unknown' | 'not-found' | 'pending' | 'failed';
  threat?: string;
  /** Why a look-up failed (a registry code). */
  code?: ErrorCode;
  detail?: string;
}

/** A Sandgate-protocol answer is a few hundred bytes; anything much larger is not one. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Asks the console's own sandbox servers about `sha256` (`GET /api/v1/files/{sha256}`, the Sandgate lab protocol), in
 * order, and stops at the first that judges it malicious. Nothing is uploaded: the console never holds the object.
 * TLS trusts only the pinned certificate; `token` goes in `Authorization: Bearer …` and the client certificate is
 * presented, for servers that authenticate their clients. Written here rather than borrowed from the agent's sandbox
 * client because the console does not depend on the agent's workspace and needs one GET, not submission and polling.
 */
export async function lookUpHash(sandbox: LoadedSandbox, sha256: string, signal?: AbortSignal): Promise<LookupResult> {
  let first: LookupResult | undefined;
  for (const server of sandbox.servers) {
    const r = await lookUpOne(sandbox, server, sha256, signal);
    if (r.outcome === 'malicious') return r;
    // The most useful thing to show: a verdict or "not known" over a failure, the first server's over later ones.
    if (!first || (first.outcome === 'failed' && r.outcome !== 'failed')) first = r;
  }
  return first!;
}

async function lookUpOne(
  sandbox: LoadedSandbox,
  server: LoadedSandbox['servers'][number],
  sha256: string,
  signal?: AbortSignal,
): Promise<LookupResult> {
  const base = new URL(server.url);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/files/${sha256}`, base);
  let answer: { status: number; body: Buffer };
  try {
    answer = await get(url, sandbox, server.token, signal);
  } catch (err) {
    return { server: server.url, outcome: 'failed', ...networkCode(err) };
  }
  if (answer.status === 404) return { server: server.url, outcome: 'not-found' };
  if (answer.status === 401 || answer.status === 403)
    return { server: server.url, outcome: 'failed', code: 'SERVER_AUTH_FAILED', detail: `HTTP ${answer.status}` };
  if (answer.status === 429) return { server: server.url, outcome: 'failed', code: 'SERVER_THROTTLED', detail: 'HTTP 429' };
  if (answer.status !== 200) return { server: server.url, outcome: 'failed', code: 'SERVER_ERROR', detail: `HTTP ${answer.status}` };
  let json: unknown;
  try {
    json = JSON.parse(answer.body.toString('utf8'));
  } catch {
    json = undefined;
  }
  const a = labAnalysisSchema.safeParse(json);
  // An answer about another object is no answer (a proxy's cache, a confused server).
  if (!a.success || a.data.sha256 !== sha256)
    return {
      server: server.url,
      outcome: 'failed',
      code: 'SERVER_RESPONSE_INVALID',
      detail: 'the answer is not a Sandgate analysis of this SHA-256',
    };
  if (a.data.state === 'queued' || a.data.state === 'analysing') return { server: server.url, outcome: 'pending' };
  if (a.data.state === 'failed' || !a.data.verdict)
    return { server: server.url, outcome: 'failed', code: 'ANALYSIS_FAILED', ...(a.data.error ? { detail: a.data.error.code } : {}) };
  const v = a.data.verdict;
  return { server: server.url, outcome: v.level, ...(v.threat ? { threat: v.threat.slice(0, 512) } : {}) };
}

function get(url: URL, sandbox: LoadedSandbox, token: string | undefined, signal?: AbortSignal): Promise<{ status: number; body: Buffer }> {
  const cc = sandbox.clientCert;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: sandbox.ca,
        minVersion: 'TLSv1.2',
        checkServerIdentity,
        ...(cc && 'pfx' in cc ? { pfx: cc.pfx, passphrase: cc.passphrase } : {}),
        ...(cc && 'cert' in cc ? { cert: cc.cert, key: cc.key, passphrase: cc.passphrase } : {}),
        headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        agent: false,
        signal: AbortSignal.any([AbortSignal.timeout(sandbox.timeoutMs), ...(signal ? [signal] : [])]),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES)
            req.destroy(Object.assign(new Error('the answer is larger than a look-up answer can be'), { code: 'ETOOBIG' }));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** No fallback to the common name for a host name (RFC 9525), as the agent's own sandbox client does. */
function checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  if (!isIP(host) && !/(?:^|,\s*)DNS:/.test(cert.subjectaltname ?? ''))
    return new Error(`${host} is not in the certificate's subjectAltName (the common name is not used)`);
  return nodeCheckServerIdentity(host, cert);
}

function networkCode(err: unknown): { code: ErrorCode; detail: string } {
  const e = err as NodeJS.ErrnoException;
  const c = e.code ?? '';
  const detail = `${c || e.name}: ${e.message}`.slice(0, 300);
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || c === 'ABORT_ERR') return { code: 'SERVER_TIMEOUT', detail };
  if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY/.test(c) || /subjectAltName|certificate/i.test(e.message))
    return { code: 'TLS_CERTIFICATE_REJECTED', detail };
  if (/EPROTO|SSL|TLS/.test(c)) return { code: 'TLS_HANDSHAKE_FAILED', detail };
  return { code: 'SERVER_UNREACHABLE', detail };
}
