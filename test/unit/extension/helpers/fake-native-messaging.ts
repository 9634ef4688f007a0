import { PROTOCOL_VERSION, requestSchema, type Request, type WireError } from '@sandgate/shared';
import type { NativePort } from '../../../../extension/utils/native-port.ts';

/** What the scripted agent answers: data, a wire error, or nothing at all (to exercise timeouts). */
export type AgentAnswer = { data: unknown } | { error: WireError } | undefined;
export type AgentScript = (request: Request) => AgentAnswer;

/** The agent most tests want: hello, then every submit-download accepted with a job id. */
export const acceptingAgent: AgentScript = (request) => {
  if (request.type === 'hello')
    return {
      data: { v: PROTOCOL_VERSION, appVersion: '0.1.0', capabilities: ['submit-download', 'verdict-push', 'status', 'quarantine'] },
    };
  if (request.type === 'submit-download')
    return { data: { jobId: `job-${request.payload.provenance.downloadId}`, sha256: 'a'.repeat(64), size: 68, state: 'queued' } };
  // Asked on every connection (reconciliation and the quarantine view): an agent with nothing to tell.
  if (request.type === 'list-jobs') return { data: { jobs: [] } };
  if (request.type === 'list-quarantine') return { data: { items: [], usersMayRestore: false } };
  return undefined;
};

/** One native port as the extension sees it; the test plays the host's side. */
export class FakeNativePort implements NativePort {
  readonly sent: unknown[] = [];
  closedByExtension = false;
  closedByHost = false;
  readonly #messageListeners: ((message: unknown) => void)[] = [];
  readonly #disconnectListeners: ((port: unknown) => void)[] = [];
  readonly #messaging: FakeNativeMessaging;

  constructor(messaging: FakeNativeMessaging) {
    this.#messaging = messaging;
  }

  readonly onMessage = { addListener: (l: (message: unknown) => void) => void this.#messageListeners.push(l) };
  readonly onDisconnect = { addListener: (l: (port: unknown) => void) => void this.#disconnectListeners.push(l) };

  postMessage(message: unknown): void {
    if (this.closedByExtension || this.closedByHost) throw new Error('Attempting to use a disconnected port object');
    this.sent.push(message);
    const request = requestSchema.safeParse(message);
    const script = this.#messaging.script;
    if (!request.success || !script) return;
    const answer = script(request.data);
    if (!answer) return;
    const envelope =
      'data' in answer
        ? { v: PROTOCOL_VERSION, kind: 'response', id: request.data.id, ok: true, data: answer.data }
        : { v: PROTOCOL_VERSION, kind: 'response', id: request.data.id, ok: false, error: answer.error };
    // The browser delivers port messages asynchronously.
    queueMicrotask(() => this.deliver(envelope));
  }

  disconnect(): void {
    this.closedByExtension = true;
  }

  /** The host sends a message to the extension. */
  deliver(message: unknown): void {
    if (this.closedByExtension || this.closedByHost) return;
    for (const l of this.#messageListeners) l(message);
  }

  /** The host goes away; Chromium reports why through `runtime.lastError` during the callback. */
  closeFromHost(lastError = 'Native host has exited.'): void {
    if (this.closedByExtension || this.closedByHost) return;
    this.closedByHost = true;
    this.#messaging.lastError = lastError;
    for (const l of this.#disconnectListeners) l({ name: 'org.sandgate.agent' });
    this.#messaging.lastError = undefined;
  }

  /** Requests the extension sent on this port, parsed with the shared schema. */
  requests(): Request[] {
    return this.sent.map((m) => requestSchema.parse(m));
  }
}

/** Stands in for `runtime.connectNative` and `runtime.lastError`. */
export class FakeNativeMessaging {
  readonly ports: FakeNativePort[] = [];
  readonly hostNames: string[] = [];
  lastError: string | undefined;
  script: AgentScript | undefined;
  /** When set, every connect fails the way Chromium does without a host manifest. */
  notInstalled = false;

  constructor(script?: AgentScript) {
    this.script = script;
  }

  readonly connect = (hostName: string): FakeNativePort => {
    const port = new FakeNativePort(this);
    this.ports.push(port);
    this.hostNames.push(hostName);
    if (this.notInstalled) queueMicrotask(() => port.closeFromHost('Specified native messaging host not found.'));
    return port;
  };

  readonly lastErrorMessage = (): string | undefined => this.lastError;

  get current(): FakeNativePort | undefined {
    return this.ports.at(-1);
  }

  /** Every request sent on every port, in order. */
  allRequests(): Request[] {
    return this.ports.flatMap((p) => p.requests());
  }
}
