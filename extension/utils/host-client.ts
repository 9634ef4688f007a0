import type { z } from 'zod';
import {
  CAPABILITIES,
  MIN_PROTOCOL_VERSION,
  NATIVE_HOST_NAME,
  PROTOCOL_VERSION,
  SandgateError,
  eventSchema,
  helloResultSchema,
  requestSchema,
  responseSchema,
  sandgateErrorFromWire,
  submitResultSchema,
  type ErrorCode,
  type PushEvent,
  type RequestType,
  type SubmitResult,
} from '@sandgate/shared';
import type { AgentConnection, AgentState } from './agent-connection.ts';
import { backoffDelay } from './backoff.ts';
import { classifyDisconnect } from './disconnect-reason.ts';
import { portErrorMessage, type ConnectNative, type NativePort } from './native-port.ts';

export interface HostClientOptions {
  /** `browser.runtime.connectNative` in the extension; a fake in tests. */
  connect: ConnectNative;
  /** Chromium reports why a port closed through `runtime.lastError`, readable only inside the listener. */
  lastErrorMessage?: () => string | undefined;
  /** Sent in `hello`, e.g. `sandgate-extension/0.1.0 chromium`. */
  clientName: string;
  hostName?: string;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Timeout of the opening `hello`; the host may first have to start the agent service (default 15 s). */
  helloTimeoutMs?: number;
  /** Jitter source for the reconnect backoff. */
  random?: () => number;
  now?: () => Date;
  warn?: (message: string) => void;
}

export type SubmitDownloadPayload = Extract<z.input<typeof requestSchema>, { type: 'submit-download' }>['payload'];

interface Pending {
  resolve: (data: unknown) => void;
  reject: (err: SandgateError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Capabilities this extension understands; the agent's own list gates what we use. */
const CLIENT_CAPABILITIES: string[] = CAPABILITIES.filter((c) => c !== 'quarantine');

/**
 * The one long-lived native-messaging port to `org.sandgate.agent`. An open port keeps the MV3 service worker alive,
 * so the client reconnects forever (with backoff) rather than giving up; requests made while it is down fail fast
 * with HOST_DISCONNECTED and callers keep their own outbox.
 */
export class HostClient {
  readonly #opts: Required<Omit<HostClientOptions, 'lastErrorMessage'>> & Pick<HostClientOptions, 'lastErrorMessage'>;
  #port: NativePort | undefined;
  readonly #pending = new Map<string, Pending>();
  #seq = 0;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #connection: AgentConnection;
  readonly #eventListeners = new Set<(event: PushEvent) => void>();
  readonly #connectionListeners = new Set<(connection: AgentConnection) => void>();

  constructor(options: HostClientOptions) {
    this.#opts = {
      hostName: NATIVE_HOST_NAME,
      requestTimeoutMs: 30_000,
      helloTimeoutMs: 15_000,
      random: Math.random,
      now: () => new Date(),
      warn: (message) => console.warn(`[sandgate] ${message}`),
      ...options,
    };
    this.#connection = { state: 'connecting', since: this.#opts.now().toISOString() };
  }

  /** Opens the port (once); afterwards the client keeps itself connected until {@link stop}. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#open();
  }

  stop(): void {
    this.#running = false;
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#drop();
  }

  get connection(): AgentConnection {
    return this.#connection;
  }

  hasCapability(capability: string): boolean {
    return this.#connection.state === 'connected' && (this.#connection.capabilities ?? []).includes(capability);
  }

  /** Pushed `job-update` and `agent-status` events. Returns an unsubscribe function. */
  onEvent(listener: (event: PushEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Every connection-state change, `connected` included. Returns an unsubscribe function. */
  onConnectionChange(listener: (connection: AgentConnection) => void): () => void {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  submitDownload(payload: SubmitDownloadPayload): Promise<SubmitResult> {
    return this.request('submit-download', payload, submitResultSchema);
  }

  /** Sends one request on the connected port and resolves with its `data`, checked against `resultSchema`. */
  request<S extends z.ZodType>(type: Exclude<RequestType, 'hello'>, payload: unknown, resultSchema: S): Promise<z.infer<S>> {
    if (this.#connection.state !== 'connected' || this.#port === undefined) {
      return Promise.reject(new SandgateError('HOST_DISCONNECTED', 'Not connected to the Sandgate agent'));
    }
    return this.#send(this.#port, type, payload, resultSchema, this.#opts.requestTimeoutMs);
  }

  #send<S extends z.ZodType>(
    port: NativePort,
    type: RequestType,
    payload: unknown,
    resultSchema: S,
    timeoutMs: number,
  ): Promise<z.infer<S>> {
    const id = String(++this.#seq);
    // Checked on the way out too: a request the agent would refuse is a bug here, and is cheaper to catch locally.
    const envelope = requestSchema.safeParse({ v: PROTOCOL_VERSION, kind: 'request', id, type, payload });
    if (!envelope.success) {
      return Promise.reject(new SandgateError('MESSAGE_INVALID', `Refusing to send an invalid ${type} request`));
    }
    return new Promise<z.infer<S>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SandgateError('REQUEST_TIMEOUT', `The agent did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        timer,
        reject,
        resolve: (data) => {
          const result = resultSchema.safeParse(data);
          if (result.success) resolve(result.data);
          else reject(new SandgateError('MESSAGE_INVALID', `The agent's answer to ${type} did not match the protocol`));
        },
      });
      try {
        port.postMessage(envelope.data);
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new SandgateError('HOST_DISCONNECTED', 'The native port is closed', { cause: err }));
      }
    });
  }

  #open(): void {
    this.#reconnectTimer = undefined;
    this.#setConnection({ state: 'connecting' });
    let port: NativePort;
    try {
      port = this.#opts.connect(this.#opts.hostName);
    } catch (err) {
      this.#fail(classifyDisconnect(err instanceof Error ? err.message : String(err)));
      return;
    }
    this.#port = port;
    port.onMessage.addListener((message) => {
      if (port === this.#port) this.#receive(message);
    });
    port.onDisconnect.addListener((p) => {
      if (port !== this.#port) return;
      const message = portErrorMessage(p) ?? this.#opts.lastErrorMessage?.() ?? '';
      this.#fail(classifyDisconnect(message));
    });
    const hello = { minV: MIN_PROTOCOL_VERSION, capabilities: CLIENT_CAPABILITIES, client: this.#opts.clientName };
    this.#send(port, 'hello', hello, helloResultSchema, this.#opts.helloTimeoutMs).then(
      (result) => {
        if (port !== this.#port) return;
        if (result.v < MIN_PROTOCOL_VERSION) {
          this.#fail({ state: 'incompatible', code: 'PROTOCOL_VERSION_UNSUPPORTED', message: `The agent speaks protocol ${result.v}` });
          return;
        }
        this.#attempt = 0;
        this.#setConnection({ state: 'connected', capabilities: result.capabilities, appVersion: result.appVersion });
      },
      (err: SandgateError) => {
        // A rejection caused by the port closing was already handled by onDisconnect.
        if (port !== this.#port) return;
        const state: AgentState = err.code === 'PROTOCOL_VERSION_UNSUPPORTED' ? 'incompatible' : 'not-running';
        this.#fail({ state, code: err.code, message: err.message });
      },
    );
  }

  #receive(raw: unknown): void {
    const response = responseSchema.safeParse(raw);
    if (response.success) {
      const r = response.data;
      const pending = this.#pending.get(r.id);
      if (!pending) return; // late answer to a request that already timed out
      this.#pending.delete(r.id);
      clearTimeout(pending.timer);
      if (r.ok) pending.resolve(r.data);
      else pending.reject(sandgateErrorFromWire(r.error));
      return;
    }
    const event = eventSchema.safeParse(raw);
    if (event.success) {
      for (const listener of this.#eventListeners) {
        try {
          listener(event.data);
        } catch (err) {
          this.#opts.warn(`event listener failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return;
    }
    // Never echo the message itself: it may carry paths or URLs.
    this.#opts.warn('ignored a message from the native host that matches no protocol schema');
  }

  /** Closes the current port, fails its pending requests and schedules the next attempt. */
  #fail(reason: { state: AgentState; code: ErrorCode; message: string }): void {
    this.#drop();
    if (!this.#running) return;
    const delay = backoffDelay(this.#attempt++, this.#opts.random);
    const nextAttemptAt = new Date(this.#opts.now().getTime() + delay).toISOString();
    this.#setConnection({ state: reason.state, lastError: { code: reason.code, message: reason.message }, nextAttemptAt });
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
  }

  #drop(): void {
    const port = this.#port;
    this.#port = undefined;
    if (port) {
      try {
        port.disconnect();
      } catch {
        // already closed by the other side
      }
    }
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new SandgateError('HOST_DISCONNECTED'));
    }
  }

  #setConnection(next: Omit<AgentConnection, 'since'>): void {
    this.#connection = { ...next, since: this.#opts.now().toISOString() };
    for (const listener of this.#connectionListeners) {
      try {
        listener(this.#connection);
      } catch (err) {
        this.#opts.warn(`connection listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
