import { promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import { SandgateError } from '@sandgate/shared';
import { AnalysisService } from './analysis/analysis-service.ts';
import { defaultEngines } from './engines/default-engines.ts';
import { handleLabRequest, type RouteContext } from './http/lab-routes.ts';
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
  /** Keep objects under dataDir/objects after analysis (default: delete them once judged). */
  keepObjects?: boolean;
  log?: Logger;
}

export interface RunningLab {
  /** `https://host:port`, the form an agent policy's `servers[].url` takes. */
  url: string;
  port: number;
  /** The PEM the agent's policy `sandbox.serverCertificate` points at. */
  certPath: string;
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
  const store = await AnalysisStore.open(join(dataDir, 'analyses'), log.child('store'));
  const service = new AnalysisService({
    store,
    engines: defaultEngines({ dataDir, log: log.child('engines'), ...(opts.yaraMaxScanBytes !== undefined ? { yaraMaxScanBytes: opts.yaraMaxScanBytes } : {}) }),
    objectsDir,
    ...(opts.analysisDelayMs !== undefined ? { delayMs: opts.analysisDelayMs } : {}),
    ...(opts.keepObjects !== undefined ? { keepObjects: opts.keepObjects } : {}),
    log: log.child('analysis'),
  });
  await service.resume();

  const ctx: RouteContext = { service, incomingDir, maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, log: log.child('http') };
  const inFlight = new Set<Promise<void>>();
  const handle = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
    const p = handleLabRequest(req, res, ctx, expectContinue).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (req, res) => handle(req, res, false));
  server.on('checkContinue', (req, res) => handle(req, res, true));
  // Uploads of gigabytes over slow links outlast Node's 5-minute request timeout; an idle socket is still cut.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
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
  log.info('sandgate-lab listening', { url, certPath: tls.certPath, dataDir });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    certPath: tls.certPath,
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

/** The host part of the URL an agent should use: wildcard binds are reached over loopback here. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}
