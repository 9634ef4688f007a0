import type { Readable, Writable } from 'node:stream';
import {
  BROWSER_REQUEST_TYPES,
  MAX_BROWSER_MESSAGE_BYTES,
  REQUEST_TYPES,
  SandgateError,
  requestSchema,
  toWireError,
  type Request,
} from '@sandgate/shared';
import type { Logger } from '../log.ts';
import type { AgentClient } from '../ipc/client.ts';
import { issueSummary, readableId } from '../ipc/serve-connection.ts';
import { FrameDecoder, type FrameResult } from '../wire/framing.ts';
import { createHostWriter } from './host-writer.ts';
import { identifyCaller, isCallerAllowed, parseBridgeArgs } from './caller-origin.ts';

export interface BridgeOptions {
  /** The command line after the script name: our flags, then the browser's arguments. */
  argv: readonly string[];
  stdin: Readable;
  stdout: Writable;
  log: Logger;
  /** Opens (and if need be starts) the agent service. Called on the first request that is forwarded. */
  connect: (opts: { policyPath?: string }) => Promise<AgentClient>;
  /** How long a forwarded request may wait for the agent. Default 120 s. */
  requestTimeoutMs?: number;
}

/**
 * What the agent gets from the browser: our id instead of the browser's, the caller the browser launched us for (never
 * one the browser wrote), and for a download `provenance.source: browser` whatever the browser claimed.
 */
export function stampBrowserRequest(req: Request, id: string, caller: string | undefined): Request {
  const { caller: _claimed, ...rest } = req;
  const base = { ...rest, id, ...(caller ? { caller } : {}) } as Request;
  if (base.type !== 'submit-download') return base;
  const { caller: _claimedToo, ...provenance } = base.payload.provenance;
  return { ...base, payload: { ...base.payload, provenance: { ...provenance, source: 'browser' } } };
}

/** Exit codes: 0 the browser hung up (or a frame could not be resynchronised); 1 refused or the agent went away. */
export type BridgeExit = 0 | 1 | 2;

/**
 * The process the browser spawns: frames stdin/stdout and forwards allowed requests to the agent service. It keeps
 * no state of its own, so it can die at any time (the browser kills it on disconnect) without losing anything.
 */
export function runBridge(opts: BridgeOptions): Promise<BridgeExit> {
  const { log } = opts;
  const writer = createHostWriter(opts.stdout, log);

  let args: ReturnType<typeof parseBridgeArgs>;
  try {
    args = parseBridgeArgs(opts.argv);
  } catch (err) {
    writer.error('-', toWireError(err));
    return writer.flush().then(() => 2);
  }

  const caller = identifyCaller(args.browserArgs);
  if (!isCallerAllowed(caller, args.allow)) {
    const who = caller.kind === 'unknown' ? caller.raw : caller.id;
    log.warn('caller refused', { caller: who, kind: caller.kind });
    writer.error('-', new SandgateError('ORIGIN_FORBIDDEN', undefined, { params: { caller: who } }).toWire());
    return writer.flush().then(() => 1);
  }
  log.info('bridge started', { caller: caller.kind === 'unknown' ? caller.raw : caller.id, kind: caller.kind });

  const decoder = new FrameDecoder(MAX_BROWSER_MESSAGE_BYTES);
  const inflight = new Set<Promise<void>>();
  let agent: Promise<AgentClient> | undefined;
  let seq = 0;
  let finished = false;

  return new Promise<BridgeExit>((resolve) => {
    const finish = (code: BridgeExit) => {
      if (finished) return;
      finished = true;
      opts.stdin.removeAllListeners('data');
      opts.stdin.destroy();
      agent?.then(
        (c) => c.close(),
        () => {},
      );
      writer.flush().then(() => resolve(code));
    };

    const getAgent = (): Promise<AgentClient> => {
      agent ??= opts.connect(args.policyPath ? { policyPath: args.policyPath } : {}).then(
        (client) => {
          client.onEvent((e) => {
            writer.event(e);
            if (e.type === 'job-update') log.debug('job update to the browser', { jobId: e.payload.jobId, state: e.payload.state, level: e.payload.verdict?.level });
          });
          client.onClose(() => {
            if (finished) return;
            log.warn('agent connection lost; exiting so the extension reconnects');
            // After the client has failed its pending requests and their errors are written.
            setImmediate(() => finish(1));
          });
          return client;
        },
        (err: unknown) => {
          log.error('agent unavailable', { error: String(err) });
          setImmediate(() => finish(1));
          throw err instanceof SandgateError ? err : new SandgateError('AGENT_UNAVAILABLE', String(err));
        },
      );
      return agent;
    };

    // Who is asking, as the browser proved it by launching us: stamped on every request, over anything it wrote.
    const callerLabel = caller.kind === 'unknown' ? undefined : `${caller.kind}:${caller.id}`;
    const forward = (req: Request) => {
      const internalId = `b${++seq}`;
      const stamped = stampBrowserRequest(req, internalId, callerLabel);
      const p = getAgent()
        // The browser's ids are replaced by ours on the IPC side, so a buggy or hostile extension reusing an id
        // cannot make one response resolve another request.
        .then((client) => client.exchange(stamped, { timeoutMs: opts.requestTimeoutMs ?? 120_000 }))
        .then(
          (res) => writer.response({ ...res, id: req.id }),
          (err: unknown) => writer.error(req.id, toWireError(err)),
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
    };

    const onFrame = (r: FrameResult) => {
      if (!r.ok) {
        log.warn('bad frame', { code: r.error.code });
        writer.error('-', r.error.toWire());
        return;
      }
      const msg = r.value;
      const type = msg && typeof msg === 'object' && 'type' in msg ? (msg as { type: unknown }).type : undefined;
      // Checked before the schema so that CLI-only requests are refused as such, whatever their payload.
      if (typeof type === 'string' && (REQUEST_TYPES as string[]).includes(type) && !(BROWSER_REQUEST_TYPES as string[]).includes(type)) {
        writer.error(readableId(msg), new SandgateError('REQUEST_NOT_ALLOWED', undefined, { params: { type } }).toWire());
        return;
      }
      const parsed = requestSchema.safeParse(msg);
      if (!parsed.success) {
        writer.error(
          readableId(msg),
          new SandgateError('MESSAGE_INVALID', undefined, { params: { issues: issueSummary(parsed.error.issues) } }).toWire(),
        );
        return;
      }
      const req = parsed.data;
      // A trace point for bench/download-to-verdict.ts (debug level only): when the browser's request arrived.
      log.debug('request from the browser', { type: req.type, ...(req.type === 'submit-download' ? { path: req.payload.path } : {}) });
      forward(req);
    };

    opts.stdin.on('data', (chunk: Buffer) => {
      for (const r of decoder.push(chunk)) onFrame(r);
      // An oversized header cannot be skipped (we will not read gigabytes to find the next frame): answer and leave.
      if (decoder.stopped) finish(0);
    });
    opts.stdin.on('end', () => {
      if (decoder.pendingBytes > 0) log.warn('stdin ended inside a frame', { bytes: decoder.pendingBytes });
      // Answers to requests already forwarded are still written: `sandgate-native-host … < hello.bin` relies on it.
      void Promise.allSettled([...inflight]).then(() => finish(0));
    });
    opts.stdin.on('error', () => finish(0));
  });
}
