import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, SandgateError, type PushEvent } from '@sandgate/shared';
import { listenAgentSocket, type AgentSocketServer } from '#native-host/ipc/server.ts';
import { serveConnection, type ServeTarget } from '#native-host/ipc/serve-connection.ts';
import { connectAgent, type AgentClient } from '#native-host/ipc/client.ts';
import { agentSocketPath } from '#native-host/ipc/socket-path.ts';
import { FrameDecoder, encodeFrame } from '#native-host/wire/framing.ts';

let home: string;
const cleanups: Array<() => unknown> = [];
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'sandgate-ipc-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(home, { recursive: true, force: true });
});

function fakeTarget() {
  const listeners = new Set<(e: PushEvent) => void>();
  const target: ServeTarget = {
    async handle(req) {
      if (req.type === 'hello') return { v: PROTOCOL_VERSION, appVersion: 'test', capabilities: ['status'] };
      if (req.type === 'get-status') throw new SandgateError('QUEUE_FULL', 'queue is full', { params: { limit: 10 } });
      if (req.type === 'list-jobs') return new Promise(() => {}); // never answers
      throw new Error('boom');
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { target, listeners, push: (e: PushEvent) => listeners.forEach((l) => l(e)) };
}

async function serve(t = fakeTarget()): Promise<AgentSocketServer> {
  const server = await listenAgentSocket(home, (c) => serveConnection(c, t.target));
  cleanups.push(() => server.close());
  return server;
}

async function client(): Promise<AgentClient> {
  const c = await connectAgent({ home });
  cleanups.push(() => c.close());
  return c;
}

/** A raw socket speaking frames, to send what a well-behaved client never would. */
async function rawPeer(path: string) {
  const s = connect({ path });
  await new Promise((r) => s.once('connect', r));
  cleanups.push(() => s.destroy());
  const d = new FrameDecoder(1 << 24);
  const frames: unknown[] = [];
  const waiters: Array<() => void> = [];
  s.on('data', (c: Buffer) => {
    for (const r of d.push(c)) frames.push(r.ok ? r.value : r.error.code);
    waiters.splice(0).forEach((w) => w());
  });
  const until = async (n: number) => {
    while (frames.length < n) await new Promise<void>((r) => waiters.push(r));
    return frames;
  };
  return { s, frames, until };
}

describe('agent socket', () => {
  it('lives in a private run folder, as a 0600 socket', async () => {
    const server = await serve();
    expect(server.path).toBe(agentSocketPath(home));
    expect(statSync(join(home, 'run')).mode & 0o777).toBe(0o700);
    expect(lstatSync(server.path).isSocket()).toBe(true);
    expect(lstatSync(server.path).mode & 0o777).toBe(0o600);
  });

  it('a run folder with loose permissions is tightened to 0700', async () => {
    mkdirSync(join(home, 'run'), { mode: 0o777 });
    chmodSync(join(home, 'run'), 0o777);
    await serve();
    expect(statSync(join(home, 'run')).mode & 0o777).toBe(0o700);
  });

  it('a run folder that is a symlink is refused, not followed', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'sandgate-elsewhere-'));
    cleanups.push(() => rmSync(elsewhere, { recursive: true, force: true }));
    symlinkSync(elsewhere, join(home, 'run'));
    await expect(listenAgentSocket(home, () => {})).rejects.toMatchObject({ code: 'IPC_PATH_UNSAFE' });
    await expect(connectAgent({ home })).rejects.toMatchObject({ code: 'IPC_PATH_UNSAFE' });
  });

  it('a second agent on the same home fails with AGENT_ALREADY_RUNNING and the first keeps serving', async () => {
    await serve();
    await expect(listenAgentSocket(home, () => {})).rejects.toMatchObject({ code: 'AGENT_ALREADY_RUNNING' });
    const c = await client();
    expect(await c.request('hello', { minV: 1, capabilities: [], client: 't' })).toMatchObject({ appVersion: 'test' });
  });

  it('a stale socket left by a crashed agent is replaced', async () => {
    mkdirSync(join(home, 'run'), { mode: 0o700 });
    // What a SIGKILLed agent leaves behind: a socket file nobody listens on.
    const path = agentSocketPath(home);
    const crashed = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('up'))`,
    ]);
    await new Promise((r) => crashed.stdout.once('data', r));
    const gone = new Promise((r) => crashed.once('exit', r));
    crashed.kill('SIGKILL');
    await gone;
    expect(lstatSync(path).isSocket()).toBe(true);
    const server = await serve();
    const c = await client();
    expect(await c.request('hello', { minV: 1, capabilities: [], client: 't' })).toMatchObject({ v: 1 });
    expect(server.path).toBe(path);
  });

  it('a plain file squatting on the socket path is replaced too', async () => {
    mkdirSync(join(home, 'run'), { mode: 0o700 });
    writeFileSync(agentSocketPath(home), 'junk');
    await serve();
    expect(lstatSync(agentSocketPath(home)).isSocket()).toBe(true);
  });

  it('connecting with nobody listening (and no autostart) is AGENT_UNAVAILABLE', async () => {
    await expect(connectAgent({ home })).rejects.toMatchObject({ code: 'AGENT_UNAVAILABLE', retryable: true });
  });
});

describe('serveConnection + client', () => {
  it('a request is answered with its data; an error comes back as the same SandgateError with its params', async () => {
    await serve();
    const c = await client();
    expect(await c.request('hello', { minV: 1, capabilities: ['x'], client: 'cli' })).toEqual({
      v: 1,
      appVersion: 'test',
      capabilities: ['status'],
    });
    const err = await c.request('get-status', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandgateError);
    expect(err).toMatchObject({ code: 'QUEUE_FULL', message: 'queue is full', params: { limit: 10 }, retryable: true });
  });

  it('an unexpected handler failure is INTERNAL, and the connection stays usable', async () => {
    await serve();
    const c = await client();
    await expect(c.request('submit-file', { path: '/x' })).rejects.toMatchObject({ code: 'INTERNAL', message: 'boom' });
    expect(await c.request('hello', { minV: 1, capabilities: [], client: 't' })).toMatchObject({ v: 1 });
  });

  it('an invalid payload is MESSAGE_INVALID', async () => {
    await serve();
    const c = await client();
    await expect(c.request('hello', { minV: 'one' })).rejects.toMatchObject({ code: 'MESSAGE_INVALID' });
  });

  it('an unanswered request times out with REQUEST_TIMEOUT', async () => {
    await serve();
    const c = await client();
    await expect(c.request('list-jobs', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
  });

  it('pushes reach subscribed clients; a closed client is unsubscribed', async () => {
    const t = fakeTarget();
    await serve(t);
    const c = await client();
    await c.request('hello', { minV: 1, capabilities: [], client: 't' }); // connected and served
    const got = new Promise<PushEvent>((r) => c.onEvent(r));
    t.push({ v: 1, kind: 'event', type: 'agent-status', payload: { serversReachable: true, queueFull: true } });
    expect(await got).toMatchObject({ type: 'agent-status', payload: { queueFull: true } });
    const closed = new Promise<void>((r) => c.onClose(r));
    c.close();
    await closed;
    while (t.listeners.size > 0) await new Promise((r) => setTimeout(r, 10));
    expect(t.listeners.size).toBe(0);
  });

  it('garbage from a peer gets coded errors with the readable id, or "-"', async () => {
    const server = await serve();
    const p = await rawPeer(server.path);
    p.s.write(encodeFrame({ v: 1, kind: 'request', id: 'm1', type: 'nope', payload: {} }, 1 << 20));
    p.s.write(encodeFrame([1, 2, 3], 1 << 20));
    const junk = Buffer.from('{not json');
    const h = Buffer.alloc(4);
    h.writeUInt32LE(junk.length);
    p.s.write(Buffer.concat([h, junk]));
    const frames = await p.until(3);
    expect(frames).toEqual([
      expect.objectContaining({ id: 'm1', ok: false, error: expect.objectContaining({ code: 'MESSAGE_INVALID' }) }),
      expect.objectContaining({ id: '-', ok: false, error: expect.objectContaining({ code: 'MESSAGE_INVALID' }) }),
      expect.objectContaining({ id: '-', ok: false, error: expect.objectContaining({ code: 'FRAME_MALFORMED' }) }),
    ]);
  });

  it('an oversized IPC frame header is answered with FRAME_TOO_LARGE and the connection is closed', async () => {
    const server = await serve();
    const p = await rawPeer(server.path);
    const closed = new Promise((r) => p.s.once('close', r));
    p.s.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const frames = await p.until(1);
    expect(frames[0]).toMatchObject({ id: '-', error: { code: 'FRAME_TOO_LARGE' } });
    await closed;
  });

  it('a response over the IPC cap becomes RESPONSE_TOO_LARGE for that id', async () => {
    const server = await listenAgentSocket(home, (conn) =>
      serveConnection(conn, { handle: async () => 'x'.repeat(2 * 1024 * 1024), subscribe: () => () => {} }),
    );
    cleanups.push(() => server.close());
    const c = await client();
    await expect(c.request('hello', { minV: 1, capabilities: [], client: 't' })).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
  });

  it('when the agent goes away, pending requests fail with AGENT_UNAVAILABLE', async () => {
    const server = await serve();
    const c = await client();
    const pending = c.request('list-jobs', {});
    await c.request('hello', { minV: 1, capabilities: [], client: 't' });
    await server.close();
    await expect(pending).rejects.toMatchObject({ code: 'AGENT_UNAVAILABLE' });
  });
});
