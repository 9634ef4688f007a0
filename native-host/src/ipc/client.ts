import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_VERSION,
  SandgateError,
  eventSchema,
  responseSchema,
  sandgateErrorFromWire,
  type PushEvent,
  type RequestType,
  type Response,
} from '@sandgate/shared';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { FramedConnection } from './framed-connection.ts';
import { ensureRunDir } from './run-dir.ts';
import { connectLocal } from './probe-socket.ts';
import { ensureService } from './ensure-service.ts';
import { agentSocketPath } from './socket-path.ts';
import { verifyAgent } from './pipe-peer.ts';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** A request as sent; the agent validates the payload (an invalid one comes back as MESSAGE_INVALID). */
export interface OutgoingRequest {
  v: number;
  kind: 'request';
  id: string;
  type: RequestType;
  payload: unknown;
}

export interface AgentClient {
  /** Sends a request and resolves with its `data`; rejects with the agent's error rebuilt as a SandgateError. */
  request<T = unknown>(type: RequestType, payload: unknown, opts?: { timeoutMs?: number }): Promise<T>;
  /**
   * Sends an already-validated request as is (its `id` must be unique on this client) and resolves with the raw
   * response, error responses included. Rejects only with REQUEST_TIMEOUT or AGENT_UNAVAILABLE. Used by the bridge,
   * which must pass the agent's answers through unchanged.
   */
  exchange(req: OutgoingRequest, opts?: { timeoutMs?: number }): Promise<Response>;
  onEvent(cb: (e: PushEvent) => void): () => void;
  onClose(cb: () => void): void;
  close(): void;
  readonly closed: boolean;
}

export interface ConnectAgentOptions {
  home: string;
  /** Start the service when nobody listens (default false). */
  autostart?: boolean;
  serveCommand?: string[];
  policyPath?: string;
  /** Connect/start-up timeout. Default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
}

/** Connects to the agent service of `home`, starting it first when asked to. */
export async function connectAgent(opts: ConnectAgentOptions): Promise<AgentClient> {
  let socket;
  if (opts.autostart) {
    socket = await ensureService(opts);
  } else {
    const path = await ensureRunDir(opts.home);
    socket = await connectLocal(path).catch((err: unknown) => {
      if (err instanceof SandgateError) throw err;
      return null;
    });
    if (!socket) {
      throw new SandgateError('AGENT_UNAVAILABLE', `the agent service is not running (nobody listens on ${path})`, {
        params: { socket: path },
      });
    }
  }
  if (process.platform === 'win32') {
    // A named pipe is a name anyone could have taken first: nothing is sent before its server proved it is our agent.
    await verifyAgent(socket, opts.home, agentSocketPath(opts.home));
    const conn = new FramedConnection(socket);
    socket.resume();
    return createAgentClient(conn, opts.logger ?? silentLogger);
  }
  return createAgentClient(new FramedConnection(socket), opts.logger ?? silentLogger);
}

interface Pending {
  resolve(res: Response): void;
  reject(err: SandgateError): void;
  timer: NodeJS.Timeout;
}

export function createAgentClient(conn: FramedConnection, log: Logger = silentLogger): AgentClient {
  const pending = new Map<string, Pending>();
  const eventListeners = new Set<(e: PushEvent) => void>();
  const idPrefix = randomUUID().slice(0, 8);
  let seq = 0;

  conn.onMessage((msg) => {
    const res = responseSchema.safeParse(msg);
    if (res.success) {
      const p = pending.get(res.data.id);
      if (!p) return log.warn('response for an unknown id', { id: res.data.id });
      pending.delete(res.data.id);
      clearTimeout(p.timer);
      p.resolve(res.data);
      return;
    }
    const ev = eventSchema.safeParse(msg);
    if (ev.success) {
      for (const cb of eventListeners) cb(ev.data);
      return;
    }
    log.warn('unparsable message from the agent ignored');
  });

  conn.onClose(() => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new SandgateError('AGENT_UNAVAILABLE', 'the agent service closed the connection', { params: { id } }));
    }
    pending.clear();
  });

  const exchange = (req: OutgoingRequest, opts?: { timeoutMs?: number }): Promise<Response> =>
    new Promise((resolve, reject) => {
      if (conn.closed) {
        reject(new SandgateError('AGENT_UNAVAILABLE', 'the agent connection is closed'));
        return;
      }
      const timeoutMs = opts?.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => {
        pending.delete(req.id);
        reject(new SandgateError('REQUEST_TIMEOUT', `no answer to ${req.type} within ${timeoutMs} ms`, { params: { timeoutMs } }));
      }, timeoutMs);
      pending.set(req.id, { resolve, reject, timer });
      try {
        conn.send(req);
      } catch (err) {
        pending.delete(req.id);
        clearTimeout(timer);
        reject(err);
      }
    });

  return {
    exchange,
    async request<T>(type: RequestType, payload: unknown, opts?: { timeoutMs?: number }): Promise<T> {
      const res = await exchange({ v: PROTOCOL_VERSION, kind: 'request', id: `${idPrefix}-${++seq}`, type, payload }, opts);
      if (res.ok) return res.data as T;
      throw sandgateErrorFromWire(res.error);
    },
    onEvent(cb) {
      eventListeners.add(cb);
      return () => eventListeners.delete(cb);
    },
    onClose: (cb) => conn.onClose(cb),
    close: () => conn.close(),
    get closed() {
      return conn.closed;
    },
  };
}
