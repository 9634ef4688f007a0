import type { IncomingMessage, ServerResponse } from 'node:http';
import { LAB_HEADERS, LAB_MAX_WAIT_MS, LAB_PROTOCOL_VERSION, sha256Schema, type LabHealth } from '@sandgate/shared';
import type { AnalysisService } from '../analysis/analysis-service.ts';
import type { ClientAuth } from '../auth/client-auth.ts';
import { LabError } from '../lab-error.ts';
import type { ConnectionLimits } from '../limits/connection-limits.ts';
import type { LabLimits } from '../limits/lab-limits.ts';
import type { UploadGate } from '../limits/upload-gate.ts';
import type { Logger } from '../log.ts';
import { LAB_SERVER_NAME, LAB_VERSION } from '../version.ts';
import { lingerOnClose } from './linger-close.ts';
import { receiveUpload } from './receive-upload.ts';
import { sendError, sendJson } from './respond.ts';

export interface RouteContext {
  service: AnalysisService;
  incomingDir: string;
  maxUploadBytes: number;
  auth: ClientAuth;
  connections: ConnectionLimits;
  uploads: UploadGate;
  limits: Pick<LabLimits, 'minUploadBytesPerSec' | 'uploadWindowMs'>;
  log: Logger;
}

const PREFIX = '/api/v1';
const ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/**
 * The Sandgate submission protocol v1 (shared/src/lab/lab-protocol.ts). `expectContinue` is true when the client sent
 * `Expect: 100-continue`: then a known object is answered before its bytes are sent at all.
 */
export async function handleLabRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RouteContext,
  expectContinue = false,
): Promise<void> {
  try {
    await route(req, res, ctx, expectContinue);
  } catch (err) {
    if (err instanceof LabError) {
      if (!req.complete && !req.socket.destroyed) lingerOnClose(req.socket);
      sendError(res, err.status, err.code, err.message, { ...err.headers, ...(req.complete ? {} : { connection: 'close' }) });
      return;
    }
    // An upload that broke off leaves no socket to answer on: the pipeline tore the request (and so the socket) down.
    if (req.destroyed || res.destroyed || !req.complete) {
      const code = (err as NodeJS.ErrnoException).code;
      const clientGone = code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error).message === 'aborted';
      if (clientGone) ctx.log.debug('upload abandoned by the client', { err: String(err) });
      else ctx.log.warn('upload failed on the lab side', { err: String(err) });
      res.destroy();
      return;
    }
    ctx.log.error('request failed', { method: req.method, err: err instanceof Error ? err.message : String(err) });
    sendError(res, 500, 'INTERNAL', 'the lab could not handle the request');
  }
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, expectContinue: boolean): Promise<void> {
  const path = pathOf(req.url);
  const method = req.method ?? 'GET';
  const parts = path.startsWith(`${PREFIX}/`) ? path.slice(PREFIX.length + 1).split('/') : [];
  const [head, param, ...rest] = parts;

  // Before anything else, and for every path: a refused client learns nothing, not even which paths exist.
  if (ctx.connections.refuses(req)) {
    throw new LabError(503, 'TOO_MANY_CONNECTIONS', 'this client (or the lab) has too many connections open; retry later', {
      connection: 'close',
      'retry-after': '5',
    });
  }
  if (!ctx.auth(req)) {
    throw new LabError(401, 'UNAUTHENTICATED', "send the lab's token (Authorization: Bearer …) or a client certificate it trusts", {
      'www-authenticate': 'Bearer realm="sandgate-lab"',
    });
  }

  if (head === 'health' && param === undefined) {
    if (!only(req, res, 'GET')) return;
    const health: LabHealth = {
      ok: true,
      protocol: LAB_PROTOCOL_VERSION,
      server: LAB_SERVER_NAME,
      version: LAB_VERSION,
      engines: ctx.service.engineNames,
      analysis: 'static',
      maxUploadBytes: ctx.maxUploadBytes,
    };
    return sendJson(res, 200, health);
  }
  if (head === 'files' && param !== undefined && rest.length === 0) {
    if (!only(req, res, 'GET')) return;
    const sha = parseSha256(param);
    const analysis = await ctx.service.lookup(sha);
    if (!analysis) return sendError(res, 404, 'NOT_FOUND', 'no analysis of this object');
    return sendJson(res, 200, analysis);
  }
  if (head === 'submissions' && param === undefined) {
    if (!only(req, res, 'POST')) return;
    return submit(req, res, ctx, expectContinue);
  }
  if (head === 'submissions' && param !== undefined && rest.length === 0) {
    if (!only(req, res, 'GET')) return;
    if (!ID_PATTERN.test(param)) throw new LabError(400, 'BAD_REQUEST', 'not a submission id');
    if (!ctx.service.get(param)) return sendError(res, 404, 'NOT_FOUND', 'no such submission');
    const waitMs = parseWait(req.url);
    if (waitMs > 0) {
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      await ctx.service.settled(param, waitMs, gone.signal);
      if (gone.signal.aborted) return;
    }
    const analysis = ctx.service.get(param);
    if (!analysis) return sendError(res, 404, 'NOT_FOUND', 'no such submission');
    return sendJson(res, 200, analysis);
  }
  sendError(res, 404, 'NOT_FOUND', `no such endpoint: ${method} ${path.slice(0, 200)}`, req.complete ? {} : { connection: 'close' });
}

async function submit(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, expectContinue: boolean): Promise<void> {
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader === undefined || req.headers['transfer-encoding'] !== undefined) {
    throw new LabError(411, 'LENGTH_REQUIRED', 'an upload needs Content-Length (chunked uploads are not accepted)');
  }
  const size = Number(lengthHeader);
  if (!Number.isSafeInteger(size) || size < 0) throw new LabError(400, 'BAD_REQUEST', 'Content-Length is not a byte count');
  if (size > ctx.maxUploadBytes) throw new LabError(413, 'TOO_LARGE', `the lab accepts objects up to ${ctx.maxUploadBytes} bytes`);
  const shaHeader = req.headers[LAB_HEADERS.sha256];
  if (typeof shaHeader !== 'string') throw new LabError(400, 'BAD_REQUEST', `${LAB_HEADERS.sha256} is required`);
  const sha256 = parseSha256(shaHeader);
  const fileName = parseFileName(req.headers[LAB_HEADERS.filename]);

  if (expectContinue) {
    const known = await ctx.service.known(sha256);
    // The client waits for 100 Continue before sending; answering now spares it the upload.
    if (known) return sendJson(res, 202, known, { location: `${PREFIX}/submissions/${known.id}`, connection: 'close' });
  }
  // Admitted (a free upload slot, room on disk) before a byte of the body is read.
  const slot = await ctx.uploads.admit(size);
  try {
    if (expectContinue) res.writeContinue();
    const received = await receiveUpload(req, {
      incomingDir: ctx.incomingDir,
      expectedSha256: sha256,
      expectedSize: size,
      slot,
      minBytesPerSec: ctx.limits.minUploadBytesPerSec,
      windowMs: ctx.limits.uploadWindowMs,
    });
    const analysis = await ctx.service.accept({ ...received, ...(fileName ? { fileName } : {}) });
    sendJson(res, 202, analysis, { location: `${PREFIX}/submissions/${analysis.id}` });
  } finally {
    slot.release();
  }
}

function only(req: IncomingMessage, res: ServerResponse, method: string): boolean {
  if (req.method === method) return true;
  sendError(res, 405, 'METHOD_NOT_ALLOWED', `use ${method}`, { allow: method, ...(req.complete ? {} : { connection: 'close' }) });
  return false;
}

/** `?wait=MS`: hold the answer until the analysis ends or MS pass (at most LAB_MAX_WAIT_MS); anything else is 0. */
function parseWait(url: string | undefined): number {
  const raw = new URLSearchParams((url ?? '').split('?')[1] ?? '').get('wait');
  if (raw === null) return 0;
  if (!/^\d{1,6}$/.test(raw)) throw new LabError(400, 'BAD_REQUEST', 'wait must be a number of milliseconds');
  return Math.min(Number(raw), LAB_MAX_WAIT_MS);
}

function pathOf(url: string | undefined): string {
  const raw = (url ?? '/').split('?')[0]!;
  return raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
}

function parseSha256(value: string): string {
  const parsed = sha256Schema.safeParse(value.toLowerCase());
  if (!parsed.success) throw new LabError(400, 'BAD_REQUEST', 'not a hex SHA-256');
  return parsed.data;
}

/** The advisory name: decoded, reduced to its last path part, control characters dropped; never used as a path. */
function parseFileName(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || !header) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(header);
  } catch {
    return undefined;
  }
  name = name
    .split(/[\\/]/)
    .pop()!
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .slice(0, 255);
  return name || undefined;
}
