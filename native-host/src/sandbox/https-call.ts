import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { SandgateError } from '@sandgate/shared';
import type { LoadedPolicy } from '../config/load-policy.ts';
import { toServerError } from './network-error-code.ts';
import { checkServerIdentity } from './server-identity.ts';

/** Largest JSON answer we buffer from a server by default; a protocol answer is a few KiB. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * For the full analysis reports of CAPE and Cuckoo, read only when the task view lacks the score: tens of MiB are
 * common once behaviour logs are in. Buffered and parsed whole, so memory briefly grows by a few times this.
 */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;

/**
 * The TLS side of one server: its own agent, trusting only the pinned certificates, TLS 1.2 or newer, and the identity
 * check of `server-identity.ts` (DNS names and IP addresses, never the common name).
 *
 * Every pinned certificate is a trust anchor, self-signed or not (`allowPartialTrustChain`, OpenSSL's
 * X509_V_FLAG_PARTIAL_CHAIN): so the pin may be the server's own certificate (matched exactly, whoever issued it), an
 * intermediate CA, or a root CA. OpenSSL still checks every certificate from the server's up to the pinned one:
 * signatures, validity dates (the pinned one's too), CA constraints and that the server's is meant for a TLS server.
 */
export function createServerAgent(loaded: Pick<LoadedPolicy, 'serverCa' | 'clientCert'>): https.Agent {
  const cc = loaded.clientCert;
  return new https.Agent({
    keepAlive: true,
    maxSockets: 8,
    ca: loaded.serverCa,
    allowPartialTrustChain: true,
    minVersion: 'TLSv1.2',
    checkServerIdentity,
    ...(cc && 'pfx' in cc ? { pfx: cc.pfx, passphrase: cc.passphrase } : {}),
    ...(cc && 'cert' in cc ? { cert: cc.cert, key: cc.key, passphrase: cc.passphrase } : {}),
  });
}

export interface HttpsCall {
  agent: https.Agent;
  /** The server's base URL from the policy. */
  base: URL;
  method: 'GET' | 'POST';
  /** Path below the base URL, starting with `/`. */
  path: string;
  headers?: Record<string, string | number>;
  /** Streamed as the request body. */
  body?: () => Readable;
  connectTimeoutMs: number;
  /** Inactivity limit once connected. */
  idleTimeoutMs: number;
  signal: AbortSignal;
  /** Largest answer accepted; default 4 MiB. */
  maxResponseBytes?: number;
}

export interface HttpsAnswer {
  status: number;
  body: Buffer;
}

/** Sockets whose TLS handshake is done, so a reused keep-alive socket is not put on the connect clock again. */
const established = new WeakSet<object>();

/**
 * One request. Failures are SandgateErrors with the registry's codes (connect timeout, TLS, unreachable, stall);
 * an aborted signal rejects with the signal's reason so callers can tell shutdown from failure.
 */
export function httpsCall(call: HttpsCall): Promise<HttpsAnswer> {
  const server = call.base.origin;
  const host = call.base.hostname.replace(/^\[(.*)\]$/, '$1');
  const prefix = call.base.pathname.replace(/\/+$/, '');
  return new Promise<HttpsAnswer>((resolve, reject) => {
    if (call.signal.aborted) return reject(call.signal.reason);
    let settled = false;
    const finish = (err: unknown, answer?: HttpsAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      call.signal.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(call.signal.aborted ? call.signal.reason : toServerError(err, server));
      else resolve(answer!);
    };
    let connectTimer: NodeJS.Timeout | undefined;
    const req = https.request({
      agent: call.agent,
      host,
      port: call.base.port || 443,
      method: call.method,
      path: prefix + call.path,
      // SNI only for names: an IP literal in SNI is not allowed (RFC 6066), and the IP is still verified.
      servername: isIP(host) ? '' : host,
      headers: { accept: 'application/json', ...call.headers },
    });
    const onAbort = () => req.destroy(call.signal.reason instanceof Error ? call.signal.reason : new Error('aborted'));
    call.signal.addEventListener('abort', onAbort, { once: true });

    req.on('socket', (socket) => {
      if (established.has(socket)) return;
      connectTimer = setTimeout(() => {
        req.destroy(
          new SandgateError('SERVER_CONNECT_TIMEOUT', `${server}: no TLS connection within ${call.connectTimeoutMs} ms`, {
            params: { server },
          }),
        );
      }, call.connectTimeoutMs);
      (socket as TLSSocket).once('secureConnect', () => {
        clearTimeout(connectTimer);
        established.add(socket);
      });
    });
    req.setTimeout(call.idleTimeoutMs, () => {
      req.destroy(new SandgateError('SERVER_TIMEOUT', `${server}: no answer for ${call.idleTimeoutMs} ms`, { params: { server } }));
    });
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > (call.maxResponseBytes ?? MAX_RESPONSE_BYTES)) {
          const limit = call.maxResponseBytes ?? MAX_RESPONSE_BYTES;
          req.destroy(new SandgateError('SERVER_RESPONSE_INVALID', `${server}: answer larger than ${limit} bytes`, { params: { server } }));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
    });

    if (call.body) {
      const body = call.body();
      body.on('error', (err) => {
        req.destroy(new SandgateError('QUEUE_IO', `The queued object could not be read: ${err.message}`, { cause: err }));
      });
      body.pipe(req);
    } else {
      req.end();
    }
  });
}
