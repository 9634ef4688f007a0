import {
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  SandgateError,
  correlationIdSchema,
  requestSchema,
  toWireError,
  type PushEvent,
  type Request,
  type Response,
  type WireError,
} from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import type { FramedConnection } from './framed-connection.ts';

/** What an IPC connection is served by: the agent's router and its push source. */
export interface ServeTarget {
  handle(req: Request): Promise<unknown>;
  subscribe(push: (e: PushEvent) => void): () => void;
}

/** The id to answer an invalid message with: its own when it has a readable one, else "-". */
export function readableId(msg: unknown): string {
  if (msg && typeof msg === 'object' && 'id' in msg) {
    const r = correlationIdSchema.safeParse((msg as { id: unknown }).id);
    if (r.success) return r.data;
  }
  return '-';
}

export function errorResponse(id: string, error: WireError): Response {
  return { v: PROTOCOL_VERSION, kind: 'response', id, ok: false, error };
}

/** Short, safe description of zod issues for `params` (no values echoed back). */
export function issueSummary(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string[] {
  return issues.slice(0, 10).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}

/**
 * Serves one IPC connection: validates every message as a request, answers each with a response carrying its id, and
 * forwards pushes until the connection closes.
 */
export function serveConnection(conn: FramedConnection, target: ServeTarget, opts: { logger?: Logger } = {}): void {
  const log = opts.logger ?? silentLogger;

  const reply = (res: Response) => {
    try {
      conn.send(res);
    } catch (err) {
      if (!(err instanceof SandgateError) || err.code !== 'FRAME_TOO_LARGE') throw err;
      conn.send(errorResponse(res.id, new SandgateError('RESPONSE_TOO_LARGE', undefined, { params: err.params ?? {} }).toWire()));
    }
  };

  conn.onBadFrame((err) => reply(errorResponse('-', err.toWire())));

  conn.onMessage((msg) => {
    const parsed = requestSchema.safeParse(msg);
    if (!parsed.success) {
      reply(
        errorResponse(
          readableId(msg),
          new SandgateError('MESSAGE_INVALID', undefined, { params: { issues: issueSummary(parsed.error.issues) } }).toWire(),
        ),
      );
      return;
    }
    const req = parsed.data;
    if (req.v < MIN_PROTOCOL_VERSION) {
      reply(
        errorResponse(
          req.id,
          new SandgateError('PROTOCOL_VERSION_UNSUPPORTED', undefined, {
            params: { v: req.v, minV: MIN_PROTOCOL_VERSION, maxV: PROTOCOL_VERSION },
          }).toWire(),
        ),
      );
      return;
    }
    // Debug-level trace points (with the ones in the bridge) let bench/download-to-verdict.ts time each hop.
    log.debug('request received', { type: req.type, id: req.id, ...(req.type === 'submit-download' ? { path: req.payload.path } : {}) });
    // Through a promise so a handler that throws synchronously is answered like one that rejects.
    Promise.resolve()
      .then(() => target.handle(req))
      .then(
        (data) => reply({ v: PROTOCOL_VERSION, kind: 'response', id: req.id, ok: true, data }),
        (err: unknown) => {
          if (!(err instanceof SandgateError)) log.error('request failed', { type: req.type, error: String(err) });
          reply(errorResponse(req.id, toWireError(err)));
        },
      );
  });

  const unsubscribe = target.subscribe((event) => {
    try {
      conn.send(event);
      if (event.type === 'job-update') log.debug('job update pushed', { jobId: event.payload.jobId, state: event.payload.state, level: event.payload.verdict?.level });
    } catch (err) {
      // An event is advisory; a too-large one is dropped rather than killing the connection.
      log.warn('event dropped', { type: event.type, error: String(err) });
    }
  });
  conn.onClose(unsubscribe);
}
