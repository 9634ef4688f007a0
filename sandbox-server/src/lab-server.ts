import { promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { AnalysisService } from './analysis/analysis-service.ts';
import { createClientAuth } from './auth/client-auth.ts';
import { ensureLabToken } from './auth/lab-token.ts';
import { defaultEngines } from './engines/default-engines.ts';
import { handleLabRequest, type RouteContext } from './http/lab-routes.ts';
import { ConnectionLimits } from './limits/connection-limits.ts';
import { DEFAULT_LAB_LIMITS, type LabLimits } from './limits/lab-limits.ts';
import { statfsFreeBytes, UploadGate, type FreeSpaceProbe } from './limits/upload-gate.ts';
import { silentLogger, type Logger } from './log.ts';
import { AnalysisStore } from './store/analysis-store.ts';
import { ensureLabCertificate } from './tls/lab-certificate.ts';

export interface LabOptions {
  /** Default 8443; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. `0.0.0.0` or `::` serve the network. */
  host?: string;
  /** PEM file paths; both or neither. Without them the lab makes (once) and reuses a self-signed certificate. */
  tlsCert?: string;
  tlsKey?: string;
  /** Analyses, the certificate, rules/ and blocklist.txt live here. */
  dataDir: string;
  /** Wait before each analysis starts (demos and tests that want to see `queued`). */
  analysisDelayMs?: number;
  /** Largest accepted upload. Default 8 GiB. */
  maxUploadBytes?: number;
  /** Bytes of an object handed to YARA-X (it scans buffers, not streams). Default 16 MiB. */
  yaraMaxScanBytes?: number;
  /**
   * Keep objects under dataDir/objects after analysis (default: delete them once judged). Kept objects are judged
   * again in place when the rules or blocklist change; without them the client is asked to upload again.
   */
  keepObjects?: boolean;
  /** A PEM CA file: clients presenting a certificate it issued are served without the token (mutual TLS). */
  clientCa?: string;
  /** Connection, upload and disk limits; each one not given keeps its default (DEFAULT_LAB_LIMITS). */
  limits?: Partial<LabLimits>;
  /** Free bytes on the file system of the lab's data (default: statfs). A seam for tests of a full disk. */
  freeBytes?: FreeSpaceProbe;
  log?: Logger;
}

export interface RunningLab {
  /** `https://host:port`, the form an agent policy's `servers[].url` takes. */
  url: string;
  port: number;
  /** The PEM the agent's policy `sandbox.serverCertificate` points at. */
  certPath: string;
  /** The bearer token clients send; an agent policy carries it as `servers[].token`. */
  token: string;
  /** Where the token is kept (mode 0600, beside the generated certificate). */
  tokenPath: string;
  /** Connections open now, as the lab counts them. */
  openConnections(): number;
  close(): Promise<void>;
}

export const DEFAULT_LAB_PORT = 8443;
export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 ** 3;

/** Starts sandgate-lab: HTTPS only (TLS 1.2+), the Sandgate submission protocol v1, static analysis engines. */
export async function startLab(opts: LabOptions): Promise<RunningLab> {
  const log = opts.log ?? silentLogger;
  const dataDir = resolve(opts.dataDir);
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const incomingDir = join(dataDir, 'incoming');
  const objectsDir = join(dataDir, 'objects');
  // Partial uploads from a previous run can never complete: start with an empty incoming folder.
  await fsp.rm(incomingDir, { recursive: true, force: true });
  for (const d of [incomingDir, objectsDir]) await fsp.mkdir(d, { recursive: true, mode: 0o700 });
  await fsp.mkdir(join(dataDir, 'rules'), { recursive: true, mode: 0o755 });

  const tls = await loadTls(opts, dataDir, log);
  const { token, tokenPath } = await ensureLabToken(join(dataDir, 'tls'), log.child('auth'));
  const clientCa = opts.clientCa === undefined ? undefined : await readClientCa(opts.clientCa);
  const limits: LabLimits = { ...DEFAULT_LAB_LIMITS, ...opts.limits };
  const store = await AnalysisStore.open(join(dataDir, 'analyses'), log.child('store'));
  const service = new AnalysisService({
    store,
    engines: defaultEngines({
      dataDir,
      log: log.child('engines'),
      ...(opts.yaraMaxScanBytes !== undefined ? { yaraMaxScanBytes: opts.yaraMaxScanBytes } : {}),
    }),
    objectsDir,
    ...(opts.analysisDelayMs !== undefined ? { delayMs: opts.analysisDelayMs } : {}),
    ...(opts.keepObjects !== undefined ? { keepObjects: opts.keepObjects } : {}),
    log: log.child('analysis'),
  });
  await service.resume();

  const connections = new ConnectionLimits({ ...limits, log: log.child('limits') });
  const ctx: RouteContext = {
    service,
    incomingDir,
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    auth: createClientAuth({ token, clientCa: clientCa !== undefined }),
    connections,
    uploads: new UploadGate({ ...limits, dir: incomingDir, freeBytes: opts.freeBytes ?? statfsFreeBytes }),
    limits,
    log: log.child('http'),
  };
  const inFlight = new Set<Promise<void>>();
  const handle = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
    const p = handleLabRequest(req, res, ctx, expectContinue).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const server = createServer(
    {
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2',
      // A client certificate is asked for, never required: a client without one may still send the token.
      ...(clientCa !== undefined ? { ca: clientCa, requestCert: true, rejectUnauthorized: false } : {}),
      handshakeTimeout: limits.headersTimeoutMs,
      // How often Node looks for requests past headersTimeout: often enough that the limit means what it says.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (req, res) => handle(req, res, false),
  );
  server.on('checkContinue', (req, res) => handle(req, res, true));
  connections.attach(server);
  // Uploads of gigabytes over slow links outlast any whole-request timeout, so there is none; instead the headers
  // have `headersTimeoutMs`, a body must keep a minimum rate (receive-upload.ts), and an idle socket is cut.
  server.requestTimeout = 0;
  server.headersTimeout = limits.headersTimeoutMs;
  server.setTimeout(120_000);
  server.on('tlsClientError', (err) => log.debug('TLS handshake failed', { err: err.message }));

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? DEFAULT_LAB_PORT, host, () => {
      server.off('error', fail);
      ok();
    });
  }).catch(async (err) => {
    await service.close();
    throw err;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `https://${urlHost(host)}:${port}`;
  log.info('sandgate-lab listening', { url, certPath: tls.certPath, tokenPath, dataDir, limits });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    certPath: tls.certPath,
    token,
    tokenPath,
    openConnections: () => connections.open,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((ok) => server.close(() => ok()));
        server.closeAllConnections();
        await closed;
        await Promise.allSettled([...inFlight]);
        await service.close();
      })();
      return closing;
    },
  };
}

async function loadTls(opts: LabOptions, dataDir: string, log: Logger): Promise<{ cert: string; key: string; certPath: string }> {
  if (opts.tlsCert === undefined && opts.tlsKey === undefined) {
    const made = await ensureLabCertificate(join(dataDir, 'tls'), log.child('tls'), opts.host);
    return { cert: made.cert, key: made.key, certPath: made.certPath };
  }
  if (opts.tlsCert === undefined || opts.tlsKey === undefined) {
    throw new SandgateError('CERTIFICATE_INVALID', 'give both a certificate and its key, or neither');
  }
  try {
    const [cert, key] = await Promise.all([fsp.readFile(opts.tlsCert, 'utf8'), fsp.readFile(opts.tlsKey, 'utf8')]);
    return { cert, key, certPath: resolve(opts.tlsCert) };
  } catch (err) {
    throw new SandgateError('CERTIFICATE_INVALID', `cannot read the TLS certificate or key: ${(err as Error).message}`, { cause: err });
  }
}

async function readClientCa(path: string): Promise<string> {
  try {
    const pem = await fsp.readFile(path, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (err) {
    throw new SandgateError('LAB_CREDENTIAL_INVALID', `cannot use the client CA ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The host part of the URL an agent should use: wildcard binds are reached over loopback here. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}
