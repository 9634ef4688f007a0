import { createHash, randomUUID } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LabAnalysis, LabVerdict } from '@sandgate/shared';
import type { Pem } from './pki.ts';
import { closeServer, listenLoopback as listen } from './loopback-server.ts';

/**
 * A scripted Sandgate-protocol server for agent tests: real HTTPS on 127.0.0.1, verdicts from a hash table, an
 * optional analysis delay, and a transcript of every request (shared between servers so failover order can be read
 * off one list).
 */
export interface LabServerOptions {
  tls: Pem;
  /** Printed in the transcript, e.g. `A`. */
  name: string;
  /** sha256 → verdict; unknown hashes are judged clean. */
  verdicts?: Record<string, LabVerdict>;
  /** Hashes the server already knows: the lookup answers with a finished analysis. */
  known?: string[];
  /** Hashes the server already tried: the lookup answers with an analysis in state `failed`. */
  knownFailed?: string[];
  /** The analyses of the first N uploads end `failed` (as sandgate-lab's do when an engine breaks); default none. */
  failAnalyses?: number;
  /** How long an uploaded object stays `analysing`. Default 0 (done at once, still polled once). */
  analysisDelayMs?: number;
  /** Fixed port (a server "coming back"); default 0. */
  port?: number;
  /** Loopback address to listen on; default 127.0.0.1. With `::1` the URL is `https://[::1]:PORT`. */
  host?: '127.0.0.1' | '::1';
  /** Shared transcript; one line per request: `A GET /api/v1/files/…`. */
  transcript?: string[];
  /** Answer every request with this status (a failing server), and `failCode` as the lab error code (INTERNAL). */
  failWith?: number;
  failCode?: string;
  /** Require `Authorization: Bearer <token>`, as sandgate-lab does; others get 401 UNAUTHENTICATED. */
  token?: string;
  /** Every Authorization header received, in order (absent ones as undefined). */
  authorizations?: (string | undefined)[];
  /** Require and verify a client certificate signed by this CA. */
  clientCa?: string;
}

export interface LabServer {
  url: string;
  port: number;
  transcript: string[];
  /** Bytes of every upload received. */
  uploads: Buffer[];
  close(): Promise<void>;
}

export const CLEAN_VERDICT: LabVerdict = { level: 'clean', score: 0, engines: [], indicators: [] };

export function maliciousVerdict(threat = 'EICAR-Test-File'): LabVerdict {
  return {
    level: 'malicious',
    threat,
    score: 100,
    engines: [{ engine: 'eicar', level: 'malicious', name: threat }],
    indicators: [{ type: 'sha256', value: '0'.repeat(64), source: 'test' }],
  };
}

export async function startLabServer(opts: LabServerOptions): Promise<LabServer> {
  const transcript = opts.transcript ?? [];
  const uploads: Buffer[] = [];
  type Submission = LabAnalysis & { readyAt: number; fails?: boolean };
  const submissions = new Map<string, Submission>();
  const bySha = new Map<string, string>();
  const verdictFor = (sha: string) => opts.verdicts?.[sha] ?? CLEAN_VERDICT;
  const failure = { code: 'ANALYSIS_FAILED', message: 'the lab could not analyse the object' };
  for (const sha of opts.known ?? []) {
    const id = randomUUID();
    submissions.set(id, {
      id,
      sha256: sha,
      size: 0,
      state: 'done',
      submittedAt: new Date().toISOString(),
      verdict: verdictFor(sha),
      readyAt: 0,
    });
    bySha.set(sha, id);
  }
  for (const sha of opts.knownFailed ?? []) {
    const id = randomUUID();
    submissions.set(id, { id, sha256: sha, size: 0, state: 'failed', submittedAt: new Date().toISOString(), error: failure, readyAt: 0 });
    bySha.set(sha, id);
  }
  let uploadsSoFar = 0;
  const view = (s: Submission): LabAnalysis => {
    const { readyAt, fails, ...rest } = s;
    if (rest.state !== 'done' && rest.state !== 'failed' && Date.now() >= readyAt) {
      rest.state = fails ? 'failed' : 'done';
      rest.finishedAt = new Date().toISOString();
      if (fails) rest.error = failure;
      else rest.verdict = verdictFor(rest.sha256);
      submissions.set(rest.id, { ...rest, readyAt, ...(fails ? { fails } : {}) });
    }
    return rest;
  };

  const server = https.createServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      ...(opts.clientCa ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (req, res) => {
      // Query parameters (the long-poll `wait`) are ignored, as a server that does not implement them would.
      const path = (req.url ?? '/').split('?')[0]!;
      transcript.push(`${opts.name} ${req.method} ${path.replace(/[0-9a-f]{64}/, '{sha}')}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      opts.authorizations?.push(req.headers.authorization);
      if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
        req.resume();
        return send(401, { error: { code: 'UNAUTHENTICATED', message: 'send the token' } });
      }
      if (opts.failWith) {
        req.resume();
        return send(opts.failWith, { error: { code: opts.failCode ?? 'INTERNAL', message: 'scripted failure' } });
      }
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && (m = /^\/api\/v1\/files\/([0-9a-f]{64})$/.exec(path))) {
        const id = bySha.get(m[1]!);
        const s = id ? submissions.get(id) : undefined;
        return s ? send(200, view(s)) : send(404, { error: { code: 'NOT_FOUND', message: 'unknown' } });
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/submissions\/([^/]+)$/.exec(path))) {
        const s = submissions.get(decodeURIComponent(m[1]!));
        return s ? send(200, view(s)) : send(404, { error: { code: 'NOT_FOUND', message: 'unknown' } });
      }
      if (req.method === 'POST' && path === '/api/v1/submissions') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          uploads.push(body);
          const sha = createHash('sha256').update(body).digest('hex');
          if (sha !== req.headers['x-sandgate-sha256']) return send(400, { error: { code: 'HASH_MISMATCH', message: 'hash mismatch' } });
          const id = randomUUID();
          const fails = uploadsSoFar++ < (opts.failAnalyses ?? 0);
          const s: Submission = {
            id,
            sha256: sha,
            size: body.length,
            state: 'analysing',
            submittedAt: new Date().toISOString(),
            readyAt: Date.now() + (opts.analysisDelayMs ?? 0),
            ...(fails ? { fails } : {}),
          };
          submissions.set(id, s);
          bySha.set(sha, id);
          // Answered as still analysing so the client's polling path is exercised every time.
          const { readyAt: _r, fails: _f, ...answer } = s;
          send(202, answer);
        });
        return;
      }
      send(404, { error: { code: 'NOT_FOUND', message: 'no such path' } });
    },
  );
  const host = opts.host ?? '127.0.0.1';
  await listen(server, opts.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${host === '::1' ? '[::1]' : host}:${port}`,
    port,
    transcript,
    uploads,
    close: () => closeServer(server),
  };
}

/** A TCP listener that accepts connections and never says a word: a black hole for the connect timeout. */
export async function startBlackHole(): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A plaintext HTTP server where TLS is expected. */
export async function startPlaintextServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** A port nobody listens on (taken and released), for "server down". */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  await closeServer(server);
  return port;
}
