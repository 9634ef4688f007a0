import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION, SandgateError, submitResultSchema } from '@sandgate/shared';
import { HostClient } from '../../../../extension/utils/host-client.ts';
import type { AgentConnection } from '../../../../extension/utils/agent-connection.ts';
import { FakeNativeMessaging, acceptingAgent } from '../helpers/fake-native-messaging.ts';

const submission = { path: '/home/ann/Downloads/setup.exe', provenance: { source: 'browser' as const, downloadId: 7 } };

function makeClient(native: FakeNativeMessaging, options: { requestTimeoutMs?: number } = {}) {
  const warnings: string[] = [];
  const states: AgentConnection[] = [];
  const client = new HostClient({
    connect: native.connect,
    lastErrorMessage: native.lastErrorMessage,
    clientName: 'sandgate-extension/test chromium',
    random: () => 1, // no jitter: delays are exactly 1 s, 2 s, 4 s…
    warn: (m) => warnings.push(m),
    ...options,
  });
  client.onConnectionChange((c) => states.push(c));
  return { client, warnings, states };
}

/** Lets queued microtasks (port deliveries, promise chains) run without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('host client', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens one port to org.sandgate.agent and says hello first, with its capabilities', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { client } = makeClient(native);
    client.start();
    client.start();
    await settle();
    expect(native.hostNames).toEqual(['org.sandgate.agent']);
    const [hello] = native.allRequests();
    expect(hello).toMatchObject({
      v: PROTOCOL_VERSION,
      kind: 'request',
      type: 'hello',
      payload: { minV: 1, client: 'sandgate-extension/test chromium' },
    });
    expect(hello?.type === 'hello' && hello.payload.capabilities).toContain('verdict-push');
    expect(client.connection).toMatchObject({ state: 'connected', appVersion: '0.1.0' });
    expect(client.hasCapability('submit-download')).toBe(true);
    client.stop();
  });

  it('matches each response to its request by id, whatever the order of answers', async () => {
    const native = new FakeNativeMessaging((r) => (r.type === 'hello' ? acceptingAgent(r) : undefined));
    const { client } = makeClient(native);
    client.start();
    await settle();
    const first = client.submitDownload({ ...submission, provenance: { source: 'browser', downloadId: 1 } });
    const second = client.submitDownload({ ...submission, provenance: { source: 'browser', downloadId: 2 } });
    const [, r1, r2] = native.current!.requests();
    const answer = (id: string, jobId: string) => ({
      v: 1,
      kind: 'response',
      id,
      ok: true,
      data: { jobId, sha256: 'b'.repeat(64), size: 1, state: 'queued' },
    });
    native.current!.deliver(answer(r2!.id, 'second'));
    native.current!.deliver(answer(r1!.id, 'first'));
    await expect(first).resolves.toMatchObject({ jobId: 'first' });
    await expect(second).resolves.toMatchObject({ jobId: 'second' });
    client.stop();
  });

  it('an error response rejects with the coded SandgateError the agent sent', async () => {
    const native = new FakeNativeMessaging((r) =>
      r.type === 'hello' ? acceptingAgent(r) : { error: { code: 'PATH_IS_LINK', message: 'a link', retryable: false } },
    );
    const { client } = makeClient(native);
    client.start();
    await settle();
    const err = await client.submitDownload(submission).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandgateError);
    expect(err).toMatchObject({ code: 'PATH_IS_LINK', retryable: false });
    client.stop();
  });

  it('a request the agent never answers fails with REQUEST_TIMEOUT after the per-request timeout', async () => {
    const native = new FakeNativeMessaging((r) => (r.type === 'hello' ? acceptingAgent(r) : undefined));
    const { client } = makeClient(native, { requestTimeoutMs: 5000 });
    client.start();
    await settle();
    const pending = client.request('get-status', {}, submitResultSchema);
    const outcome = pending.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(4999);
    await Promise.resolve();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    // a late answer for the timed-out id is ignored, not a crash
    native.current!.deliver({ v: 1, kind: 'response', id: native.current!.requests()[1]!.id, ok: true, data: {} });
    client.stop();
  });

  it('a disconnect rejects every pending request with HOST_DISCONNECTED and reconnects with growing backoff', async () => {
    const native = new FakeNativeMessaging((r) => (r.type === 'hello' ? acceptingAgent(r) : undefined));
    const { client, states } = makeClient(native);
    client.start();
    await settle();
    const a = client.submitDownload(submission).catch((e: unknown) => e);
    const b = client.request('get-status', {}, submitResultSchema).catch((e: unknown) => e);
    native.current!.closeFromHost('Native host has exited.');
    expect(await a).toMatchObject({ code: 'HOST_DISCONNECTED', retryable: true });
    expect(await b).toMatchObject({ code: 'HOST_DISCONNECTED' });
    expect(client.connection).toMatchObject({
      state: 'not-running',
      lastError: { code: 'HOST_DISCONNECTED', message: 'Native host has exited.' },
    });
    // while down, requests fail fast instead of hanging
    await expect(client.submitDownload(submission)).rejects.toMatchObject({ code: 'HOST_DISCONNECTED' });

    // the host now refuses to start: 1 s, then 2 s, then 4 s between attempts
    native.script = undefined;
    await vi.advanceTimersByTimeAsync(999);
    expect(native.ports).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(native.ports).toHaveLength(2);
    native.current!.closeFromHost('Native host has exited.');
    await vi.advanceTimersByTimeAsync(1999);
    expect(native.ports).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(native.ports).toHaveLength(3);
    native.current!.closeFromHost('Native host has exited.');
    await vi.advanceTimersByTimeAsync(3999);
    expect(native.ports).toHaveLength(3);

    // the agent is back: the fourth port connects and the backoff starts over
    native.script = acceptingAgent;
    await vi.advanceTimersByTimeAsync(1);
    expect(native.ports).toHaveLength(4);
    expect(client.connection.state).toBe('connected');
    native.current!.closeFromHost();
    await vi.advanceTimersByTimeAsync(1000);
    expect(native.ports).toHaveLength(5);
    expect(states.map((s) => s.state)).toContain('not-running');
    client.stop();
  });

  it('"Specified native messaging host not found." is reported as HOST_NOT_INSTALLED, and retried up to every 60 s', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    native.notInstalled = true;
    const { client } = makeClient(native);
    client.start();
    await settle();
    expect(client.connection).toMatchObject({ state: 'not-installed', lastError: { code: 'HOST_NOT_INSTALLED' } });
    for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(60_000);
    const attempts = native.ports.length;
    const wait = Date.parse(client.connection.nextAttemptAt!) - Date.now();
    await vi.advanceTimersByTimeAsync(wait - 1);
    expect(native.ports.length).toBe(attempts);
    await vi.advanceTimersByTimeAsync(1);
    expect(native.ports.length).toBe(attempts + 1);
    // the cap: after many failures the next attempt is exactly 60 s away (no jitter in this test)
    expect(Date.parse(client.connection.nextAttemptAt!) - Date.now()).toBe(60_000);
    // installing the host makes the next attempt succeed
    native.notInstalled = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(client.connection.state).toBe('connected');
    client.stop();
  });

  it('an agent that cannot be started is "not running"; one with no common protocol is "incompatible"', async () => {
    const down = new FakeNativeMessaging(() => ({ error: { code: 'AGENT_UNAVAILABLE', message: 'no agent', retryable: true } }));
    const a = makeClient(down);
    a.client.start();
    await settle();
    expect(a.client.connection).toMatchObject({ state: 'not-running', lastError: { code: 'AGENT_UNAVAILABLE' } });
    expect(down.ports[0]!.closedByExtension).toBe(true);
    a.client.stop();

    const old = new FakeNativeMessaging(() => ({ error: { code: 'PROTOCOL_VERSION_UNSUPPORTED', message: 'v9 only', retryable: false } }));
    const b = makeClient(old);
    b.client.start();
    await settle();
    expect(b.client.connection.state).toBe('incompatible');
    b.client.stop();
  });

  it('a hello that is never answered times out and the port is replaced', async () => {
    const native = new FakeNativeMessaging(() => undefined);
    const { client } = makeClient(native);
    client.start();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(client.connection).toMatchObject({ state: 'not-running', lastError: { code: 'REQUEST_TIMEOUT' } });
    expect(native.ports[0]!.closedByExtension).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(native.ports).toHaveLength(2);
    client.stop();
  });

  it('invalid inbound messages are ignored without crashing, and valid events still arrive', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { client, warnings } = makeClient(native);
    const events: string[] = [];
    client.onEvent((e) => events.push(e.type));
    client.start();
    await settle();
    const port = native.current!;
    for (const junk of [
      null,
      42,
      'hello',
      { kind: 'response' },
      { v: 1, kind: 'response', id: '1', ok: 'yes' },
      { v: 1, kind: 'event', type: 'job-update', payload: { jobId: 1 } },
      { v: 1, kind: 'event', type: 'made-up' },
    ]) {
      port.deliver(junk);
    }
    port.deliver({ v: 1, kind: 'event', type: 'agent-status', payload: { serversReachable: true, queueFull: false } });
    expect(events).toEqual(['agent-status']);
    expect(warnings.filter((w) => w.includes('matches no protocol schema'))).toHaveLength(7);
    expect(client.connection.state).toBe('connected');
    // an answer whose data does not match the request's result schema is a coded error, not a cast
    native.script = (r) => (r.type === 'submit-download' ? { data: { jobId: 5 } } : undefined);
    await expect(client.submitDownload(submission)).rejects.toMatchObject({ code: 'MESSAGE_INVALID' });
    client.stop();
  });

  it('refuses to send a request that breaks the protocol schema', async () => {
    const native = new FakeNativeMessaging(acceptingAgent);
    const { client } = makeClient(native);
    client.start();
    await settle();
    await expect(client.submitDownload({ path: '', provenance: { source: 'browser' } })).rejects.toMatchObject({ code: 'MESSAGE_INVALID' });
    expect(native.current!.requests().map((r) => r.type)).toEqual(['hello']);
    client.stop();
  });
});
